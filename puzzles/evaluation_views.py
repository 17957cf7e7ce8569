"""Staff pages for evaluating checkpoints: ask for one, watch it run, read and compare the figures.

    /evaluations/                      the form and the latest evaluations
    /evaluations/<id>/                 one evaluation: progress while it runs, then its figures
    /evaluations/compare/?ids=a,b,...  evaluations side by side (one chart, tables in columns)
"""

import uuid

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render

from puzzles.evaluation_forms import EvaluationForm
from puzzles.models import Evaluation
from puzzles.services.evaluation_chart import per_step_chart_svg
from puzzles.services.evaluation_measures import per_step_measure

MAX_COMPARED = 6


def _label(evaluation: Evaluation) -> str:
    return evaluation.checkpoint.name


def _pct(value) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "–"


def _headline(figures: dict) -> list[tuple[str, str]]:
    """(name, value) pairs of the figures after the last step, the kind's own first."""
    pairs = []
    if figures.get("kind") == "arc":
        pairs += [("pass@1", _pct(figures.get("pass@1"))), ("pass@2", _pct(figures.get("pass@2")))]
    if figures.get("kind") == "maze":
        pairs.append(("valid shortest path", _pct(figures.get("valid_shortest_path"))))
    pairs += [("exact", _pct(figures.get("exact_accuracy"))), ("token", _pct(figures.get("token_accuracy")))]
    halting = figures.get("halting") or {}
    pairs += [("mean halting step", str(halting.get("mean_step", "–"))),
              ("right where it would halt", _pct(halting.get("accuracy_at_halt"))),
              ("never halted", str(halting.get("never_halted", "–")))]
    return pairs


def _breakdowns(figures: dict) -> list[dict]:
    """The by-band / by-size / by-family tables, as title, column names and rows of strings."""
    tables = []
    if figures.get("by_difficulty"):
        tables.append({"title": "By difficulty (guesses)", "columns": ["band", "puzzles", "exact"],
                       "rows": [[r["difficulty"], r["puzzles"], _pct(r["exact_accuracy"])] for r in figures["by_difficulty"]]})
    if figures.get("by_size"):
        key, name = per_step_measure(figures)
        tables.append({"title": "By size", "columns": ["size", "puzzles", name],
                       "rows": [[r["size"], r["puzzles"], _pct(r.get(key))] for r in figures["by_size"]]})
    if figures.get("by_family"):
        tables.append({"title": "By rule family", "columns": ["family", "tasks", "pass@2"],
                       "rows": [[r["family"], r["tasks"], _pct(r.get("pass@2"))] for r in figures["by_family"]]})
    return tables


def _per_step(figures: dict) -> list[list[str]]:
    key = per_step_measure(figures)[0]
    return [[r["step"], _pct(r.get(key)), _pct(r.get("token_accuracy")), r.get("would_halt_here", 0)]
            for r in figures.get("per_step") or []]


@staff_member_required
def evaluations_page(request):
    initial = {}
    if request.GET.get("checkpoint", "").isdigit():
        initial["checkpoint"] = int(request.GET["checkpoint"])
    form = EvaluationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        evaluation = form.save(requested_by=request.user)
        if evaluation is not None:
            return redirect("evaluation-page", evaluation_id=evaluation.id)
    recent = Evaluation.objects.select_related("checkpoint").order_by("-created_at")[:50]
    return render(request, "puzzles/evaluations.html", {"form": form, "recent": recent},
                  status=400 if form.errors else 200)


@staff_member_required
def evaluation_page(request, evaluation_id):
    evaluation = get_object_or_404(Evaluation.objects.select_related("checkpoint"), id=evaluation_id)
    same_set = (Evaluation.objects.select_related("checkpoint")
                .filter(set_key=evaluation.set_key, status=Evaluation.Status.DONE).exclude(id=evaluation.id)
                .order_by("-created_at")[:20])
    figures = evaluation.figures or {}
    return render(request, "puzzles/evaluation.html", {
        "evaluation": evaluation, "figures": figures, "same_set": same_set,
        "chart": per_step_chart_svg([(_label(evaluation), figures)]),
        "measure": per_step_measure(figures)[1], "headline": _headline(figures), "per_step": _per_step(figures),
        "breakdowns": _breakdowns(figures),
    })


@staff_member_required
def evaluation_compare_page(request):
    try:
        ids = [uuid.UUID(part) for part in request.GET.get("ids", "").split(",") if part]
    except ValueError:
        return HttpResponseBadRequest("Compare evaluations: /evaluations/compare/?ids=<id>,<id> (UUIDs).",
                                      content_type="text/plain")
    if not 2 <= len(ids) <= MAX_COMPARED:
        return HttpResponseBadRequest(f"Compare 2 to {MAX_COMPARED} evaluations: /evaluations/compare/?ids=<id>,<id>.",
                                      content_type="text/plain")
    found = {e.id: e for e in Evaluation.objects.select_related("checkpoint").filter(id__in=ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Http404(f"no evaluation {', '.join(missing)}")
    evaluations = [found[i] for i in ids]
    finished = [e for e in evaluations if e.status == Evaluation.Status.DONE]
    return render(request, "puzzles/evaluation_compare.html", {
        "columns": [{"evaluation": e, "headline": _headline(e.figures or {}), "breakdowns": _breakdowns(e.figures or {})}
                    for e in evaluations],
        "same_set": len({e.set_key for e in evaluations}) == 1,
        "chart": per_step_chart_svg([(_label(e), e.figures) for e in finished]),
        "measure": per_step_measure(finished[0].figures if finished else {})[1],
        "steps": _step_rows(finished),
    })


def _step_rows(evaluations: list[Evaluation]) -> list[list]:
    """Rows of the side-by-side table: the step, then each evaluation's measure at it ("–" past its last)."""
    tables = [_per_step(e.figures) for e in evaluations]
    steps = max((len(table) for table in tables), default=0)
    return [[k + 1, *(table[k][1] if k < len(table) else "–" for table in tables)] for k in range(steps)]
