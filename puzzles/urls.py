from django.urls import path

from puzzles import evaluation_views, views

urlpatterns = [
    path("", views.playground, name="playground"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job-page"),
    path("compare/", views.compare_page, name="compare-page"),
    path("evaluations/", evaluation_views.evaluations_page, name="evaluations-page"),
    path("evaluations/compare/", evaluation_views.evaluation_compare_page, name="evaluation-compare-page"),
    path("evaluations/<uuid:evaluation_id>/", evaluation_views.evaluation_page, name="evaluation-page"),
]
