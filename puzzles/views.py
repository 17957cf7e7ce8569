"""The playground's HTML pages; everything they do goes through the REST API and the job stream."""

import uuid

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie

from puzzles.models import Checkpoint, SolveJob


@ensure_csrf_cookie
def playground(request):
    checkpoints = Checkpoint.objects.filter(is_active=True).order_by("kind")
    maze = next((c for c in checkpoints if c.kind == "maze"), None)
    return render(request, "puzzles/playground.html",
                  {"checkpoints": checkpoints, "active_maze_field": maze.maze_field if maze else None})


@ensure_csrf_cookie
def job_page(request, job_id):
    job = get_object_or_404(SolveJob.objects.select_related("puzzle", "checkpoint"), id=job_id)
    return render(request, "puzzles/job.html", {"job": job})


def compare_page(request):
    """Two jobs (`?a=<id>&b=<id>`), usually one puzzle solved by two checkpoints, played side by side."""
    try:
        ids = [uuid.UUID(request.GET.get(key, "")) for key in ("a", "b")]
    except ValueError:
        return HttpResponseBadRequest("Compare two jobs: /compare/?a=<job id>&b=<job id> (UUIDs).", content_type="text/plain")
    jobs = SolveJob.objects.select_related("puzzle", "checkpoint")
    first, second = (get_object_or_404(jobs, id=job_id) for job_id in ids)
    same_puzzle = first.puzzle.kind == second.puzzle.kind and first.puzzle.data == second.puzzle.data
    return render(request, "puzzles/compare.html", {"panels": [("a", first), ("b", second)], "same_puzzle": same_puzzle})
