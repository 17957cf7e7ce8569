from django.urls import path, re_path

from puzzles.api.arc_tasks import ArcTaskDetailApi, ArcTasksApi
from puzzles.api.examples import MazeExampleApi, SudokuCheckApi, SudokuExampleApi
from puzzles.api.views import CheckpointsApi, JobCancelApi, JobDetailApi, JobsApi, JobStepsApi
from puzzles.api.worker_files import checkpoint_file_for_worker

urlpatterns = [
    path("jobs/", JobsApi.as_view(), name="api-jobs"),
    path("jobs/<uuid:job_id>/", JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<uuid:job_id>/steps/", JobStepsApi.as_view(), name="api-job-steps"),
    path("jobs/<uuid:job_id>/cancel/", JobCancelApi.as_view(), name="api-job-cancel"),
    path("checkpoints/", CheckpointsApi.as_view(), name="api-checkpoints"),
    path("arc-tasks/", ArcTasksApi.as_view(), name="api-arc-tasks"),
    path("arc-tasks/<str:dataset>/<str:name>/", ArcTaskDetailApi.as_view(), name="api-arc-task-detail"),
    path("examples/sudoku/", SudokuExampleApi.as_view(), name="api-example-sudoku"),
    path("examples/maze/", MazeExampleApi.as_view(), name="api-example-maze"),
    path("sudoku/check/", SudokuCheckApi.as_view(), name="api-sudoku-check"),
    re_path(r"^worker/checkpoints/(?P<digest>[0-9a-f]{64})/file$", checkpoint_file_for_worker,
            name="api-worker-checkpoint-file"),
]
