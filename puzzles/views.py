"""The playground's HTML pages; everything they do goes through the REST API and the job stream."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie

from puzzles.models import Checkpoint, SolveJob


@ensure_csrf_cookie
def playground(request):
    checkpoints = Checkpoint.objects.filter(is_active=True).order_by("kind")
    return render(request, "puzzles/playground.html", {"checkpoints": checkpoints})


@ensure_csrf_cookie
def job_page(request, job_id):
    job = get_object_or_404(SolveJob.objects.select_related("puzzle", "checkpoint"), id=job_id)
    return render(request, "puzzles/job.html", {"job": job})
