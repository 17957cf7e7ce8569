from django.urls import path

from puzzles.api.views import JobDetailApi, JobStepsApi, JobSubmitApi

urlpatterns = [
    path("jobs/", JobSubmitApi.as_view(), name="api-job-submit"),
    path("jobs/<uuid:job_id>/", JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<uuid:job_id>/steps/", JobStepsApi.as_view(), name="api-job-steps"),
]
