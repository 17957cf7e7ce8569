"""Running a staff evaluation inside a worker: get the set, evaluate the checkpoint on it in batches,
save and publish the progress, keep the figures.

The figures are those of `python -m solver evaluate --json` (solver/evaluate.py), computed by the same
function; they are kept on the Evaluation row, which belongs to the checkpoint (its admin page lists them).
A generated set is built by the dataset builders into a scratch folder of the worker and removed after.

An evaluation runs once: a message delivered again (its worker died, Redis handed it out again) finds it
no longer queued and does nothing. While it runs, a thread renews its heartbeat (a batch of a large model
may take longer than TRM_HEARTBEAT_STALE); one whose worker died stops beating, and the workers' sweep
fails it with the reason (`evaluations_fail_silent`), so its page says so and staff evaluate again.
"""

import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from puzzles.messages import evaluation_message
from puzzles.models import Evaluation
from puzzles.services.evaluation_runs import EVALUATED_SPLIT
from puzzles.services.heartbeat import renewing, silent_long_enough
from puzzles.services.model_cache import cached_model
from puzzles.services.publishing import publish_evaluation
from puzzles.services.solving import worker_device, worker_name

logger = logging.getLogger(__name__)

# Progress is saved and published at most this often (a batch of a small model takes milliseconds).
PROGRESS_EVERY_SECONDS = 0.5


def _claim(evaluation_id) -> Evaluation | None:
    now = timezone.now()
    claimed = Evaluation.objects.filter(id=evaluation_id, status=Evaluation.Status.QUEUED).update(
        status=Evaluation.Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker_name())
    if not claimed:
        return None
    return Evaluation.objects.select_related("checkpoint").get(id=evaluation_id)


def _heartbeat(evaluation_id):
    """Renew the evaluation's heartbeat while the block runs (services/heartbeat.py)."""
    def renew() -> None:
        Evaluation.objects.filter(id=evaluation_id, status=Evaluation.Status.RUNNING).update(heartbeat_at=timezone.now())

    return renewing(renew, name="evaluation-heartbeat")


# The silent evaluations this process's sweeps have seen: id -> (its stale heartbeat, when first seen).
_seen_silent: dict = {}


def evaluations_fail_silent() -> int:
    """Fail the running evaluations whose worker has not beaten for TRM_HEARTBEAT_STALE (it died or was
    restarted mid-way) and whose heartbeat then stays where it was for two beats more (services/heartbeat.py
    `silent_long_enough`); the number failed. The workers' sweep calls it (puzzles/tasks.py).
    """
    now = timezone.now()
    found = dict(Evaluation.objects.filter(
        status=Evaluation.Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=settings.TRM_HEARTBEAT_STALE),
    ).values_list("id", "heartbeat_at"))
    for evaluation_id in set(_seen_silent) - set(found):
        del _seen_silent[evaluation_id]  # it beat again, or ended
    failed = 0
    for evaluation_id, beat in found.items():
        if not silent_long_enough(_seen_silent, evaluation_id, beat, now):
            continue
        del _seen_silent[evaluation_id]
        failed += Evaluation.objects.filter(id=evaluation_id, status=Evaluation.Status.RUNNING, heartbeat_at=beat).update(
            status=Evaluation.Status.FAILED, phase="", finished_at=now,
            error=f"its worker stopped answering for over {settings.TRM_HEARTBEAT_STALE} s (it died or was "
                  "restarted) before the evaluation ended; evaluate again")
    if failed:
        logger.warning("failed %d evaluations whose worker stopped answering", failed)
    return failed


def _report(evaluation: Evaluation, **changes) -> None:
    """Save what changed and tell the page."""
    for field, value in changes.items():
        setattr(evaluation, field, value)
    Evaluation.objects.filter(id=evaluation.id).update(**changes)
    publish_evaluation(evaluation.id, evaluation_message(evaluation))


def _generate(spec: dict, folder: Path) -> None:
    """Build the described set's test split into `folder` with the dataset builders (seeded: the same
    description gives the same puzzles on any machine)."""
    if spec["kind"] == "sudoku":
        from solver.datasets import sudoku

        sudoku.build(folder, num_train=0, num_test=spec["count"], bands=sudoku.parse_bands(spec["bands"]),
                     seed=spec["seed"], log=logger.info)
    elif spec["kind"] == "maze":
        from solver.datasets import maze

        maze.build(folder, num_train=0, num_test=spec["count"], sizes=spec["sizes"], field=spec["field"],
                   seed=spec["seed"], log=logger.info)
    else:
        raise ValueError(f"cannot generate a {spec['kind']} set")


def _dataset_folder(evaluation: Evaluation, scratch: Path) -> Path:
    if evaluation.dataset_name:
        folder = Path(settings.TRM_DATASETS_DIR) / evaluation.dataset_name
        if not (folder / EVALUATED_SPLIT / "dataset.json").is_file():
            raise FileNotFoundError(f"this worker ({worker_name()}) has no dataset {evaluation.dataset_name} in "
                                    f"{settings.TRM_DATASETS_DIR}: give its workers the same folder, or evaluate a "
                                    f"generated set")
        return folder
    _report(evaluation, phase="generating")
    _generate(evaluation.generated, scratch)
    return scratch


def evaluation_execute(*, evaluation_id) -> None:
    evaluation = _claim(evaluation_id)
    if evaluation is None:
        return
    publish_evaluation(evaluation.id, evaluation_message(evaluation))
    with _heartbeat(evaluation.id):
        _evaluate(evaluation)


def _evaluate(evaluation: Evaluation) -> None:
    started = time.monotonic()
    try:
        from solver.data import load_split
        from solver.evaluate import evaluate_model

        checkpoint = evaluation.checkpoint
        with tempfile.TemporaryDirectory(prefix="trm-evaluation-") as scratch:
            folder = _dataset_folder(evaluation, Path(scratch))
            model, _config = cached_model(checkpoint.path, checkpoint.content_hash, device=worker_device())
            split = load_split(folder, EVALUATED_SPLIT)
            total = min(evaluation.limit, split.num_examples)
            _report(evaluation, phase="evaluating", done=0, total=total)
            last_report = time.monotonic()

            def progress(done: int, _total: int) -> None:
                nonlocal last_report
                if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    _report(evaluation, done=done)

            figures = evaluate_model(model, split, limit=total, batch_size=evaluation.batch_size, progress=progress)
        figures.update(dataset=evaluation.set_description, checkpoint=checkpoint.name,
                       seconds=round(time.monotonic() - started, 2))
        _report(evaluation, status=Evaluation.Status.DONE, phase="", done=figures["puzzles"], figures=figures,
                finished_at=timezone.now())
        logger.info("evaluation %s of %s done: %d puzzles in %.1f s", evaluation.id, checkpoint.name,
                    figures["puzzles"], figures["seconds"])
    except Exception as error:
        logger.exception("evaluation %s failed", evaluation.id)
        # Only staff read an evaluation, and a researcher needs the solver's own words (a dataset of another
        # model, a missing folder), unlike a solve job's public error (puzzles/job_errors.py).
        evaluation_fail(evaluation, f"{type(error).__name__}: {error}")


def evaluation_fail(evaluation: Evaluation, reason: str) -> None:
    _report(evaluation, status=Evaluation.Status.FAILED, phase="", error=reason, finished_at=timezone.now())


def evaluation_fail_past_hard_limit(*, evaluation_id) -> None:
    """Fail an evaluation whose task Celery killed at TRM_EVALUATION_TIME_LIMIT (puzzles/tasks.py)."""
    evaluation = Evaluation.objects.filter(id=evaluation_id).exclude(status__in=Evaluation.FINISHED).first()
    if evaluation is not None:
        evaluation_fail(evaluation, f"the evaluation ran past its time limit of {settings.TRM_EVALUATION_TIME_LIMIT} s "
                                    f"(TRM_EVALUATION_TIME_LIMIT) and was stopped: evaluate fewer puzzles")
