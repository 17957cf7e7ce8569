from django.urls import path

from puzzles.api.views import CheckpointsApi, JobCancelApi, JobDetailApi, JobsApi, JobStepsApi

urlpatterns = [
    path("jobs/", JobsApi.as_view(), name="api-jobs"),
    path("jobs/<uuid:job_id>/", JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<uuid:job_id>/steps/", JobStepsApi.as_view(), name="api-job-steps"),
    path("jobs/<uuid:job_id>/cancel/", JobCancelApi.as_view(), name="api-job-cancel"),
    path("checkpoints/", CheckpointsApi.as_view(), name="api-checkpoints"),
]
