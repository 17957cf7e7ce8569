from django.urls import path

from puzzles import views

urlpatterns = [
    path("", views.playground, name="playground"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job-page"),
    path("compare/", views.compare_page, name="compare-page"),
]
