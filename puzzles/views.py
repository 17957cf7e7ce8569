"""The playground's HTML pages; everything they do goes through the REST API and the job stream."""

import uuid

from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie

from puzzles.gallery import offered
from puzzles.models import Checkpoint, SolveJob
from solver.limits import MAX_VIEWS, max_steps

# The side of the random maze the page offers first: the largest at which the shipped maze demo finds a shortest
# path through mazes with loops (what Random maze makes) at least 80% of the time (bench/default_actions.py).
DEFAULT_MAZE_SIDE = 7
# "Stop when sure": the halting threshold the page asks for. At 0.99 the Sudoku demo keeps its held-out accuracy
# (72.8% on all bands, as with every step) in 4.6 of 8 steps, and the maze demo finds more shortest paths than
# with every step (97.7% against 90.7% on perfect mazes, 3.2 steps); at 0.5 the Sudoku demo loses 3 points
# (`python -m solver evaluate demo:KIND DATA --halt T`, figures in docs/demos.md).
PAGE_HALT_THRESHOLD = 0.99


def kind_defaults(checkpoints) -> dict[str, dict]:
    """What the page starts each kind with, from that kind's active checkpoint: the steps it was trained with
    and the largest grid it takes, so that no default the page offers is one the server refuses."""
    defaults = {}
    for checkpoint in checkpoints:
        largest = {"sudoku": 9, "maze": checkpoint.maze_field, "arc": checkpoint.arc_canvas}[checkpoint.kind]
        defaults[checkpoint.kind] = {"checkpoint": checkpoint.name, "steps": checkpoint.halt_max_steps,
                                     "steps_cap": max_steps(checkpoint.halt_max_steps),
                                     "largest_grid": largest, "trained": checkpoint.trained,
                                     "most_views": MAX_VIEWS.get(checkpoint.kind, 1),
                                     "halt_threshold": PAGE_HALT_THRESHOLD}
    if "maze" in defaults:
        defaults["maze"]["default_side"] = min(DEFAULT_MAZE_SIDE, defaults["maze"]["largest_grid"])
    return defaults


def ensure_session(request) -> None:
    """Give a new visitor their browser session with the page, before its scripts call the API.

    The API makes one on first use (puzzles/api/clients.py), but a page fires several calls at once: each
    would make its own session, the last cookie to arrive would win, and jobs submitted under the others
    would vanish from the visitor's history.
    """
    if not request.session.session_key:
        request.session.save()


@ensure_csrf_cookie
def playground(request):
    ensure_session(request)
    checkpoints = list(Checkpoint.objects.filter(is_active=True).order_by("kind"))
    defaults = kind_defaults(checkpoints)
    return render(request, "puzzles/playground.html", {
        "checkpoints": checkpoints, "kind_defaults": defaults, "starting_puzzles": offered(defaults),
        "active_maze_field": defaults.get("maze", {}).get("largest_grid"),
        "maze_side": defaults.get("maze", {}).get("default_side", DEFAULT_MAZE_SIDE),
        "sudoku_steps": defaults.get("sudoku", {}).get("steps", 16),
    })


@ensure_csrf_cookie
def job_page(request, job_id):
    ensure_session(request)
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
