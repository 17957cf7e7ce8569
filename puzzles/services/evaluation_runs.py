"""Staff evaluations on the web side: which sets a checkpoint can be evaluated on, and queueing one.

A set is either a dataset built on the server (a `build-dataset --output-dir` folder in TRM_DATASETS_DIR,
its `test` split) or one the worker generates on the spot with the dataset builders (Sudoku by difficulty
band, mazes by size, seeded). Generated ARC sets are refused: an ARC model knows a task by its learned
embedding row, so a new task needs test-time fitting first, which bench/arc_fitting.py measures.

The web process only reads dataset.json files and queues the task by name; the worker runs it
(services/evaluation_execution.py), so this module imports no torch.
"""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from puzzles.models import Checkpoint, Evaluation
from solver.codecs import MIN_MAZE_FIELD, maze_field
from solver.config import kind_of_shape

logger = logging.getLogger(__name__)

# Sent by name, as solve jobs are (services/queueing.py): the web process does not import the tasks.
RUN_EVALUATION = "puzzles.run_evaluation"
EVALUATED_SPLIT = "test"
MAX_BATCH_SIZE = 256
SMALLEST_MAZE = 2  # what the maze builder makes (solver/datasets/maze.py)


class EvaluationRefused(ValueError):
    """A request the worker could not run; `field` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BuiltDataset:
    name: str
    kind: str
    seq_len: int
    puzzles: int

    @property
    def side(self) -> int | None:
        """The field or canvas side of a maze or ARC set (None for Sudoku)."""
        return maze_field(self.seq_len) if self.kind in ("maze", "arc") else None

    def describe(self) -> str:
        shape = f", {self.side}x{self.side}" if self.side else ""
        return f"{self.name} ({self.kind}{shape}, {self.puzzles} test puzzles)"


def built_datasets() -> list[BuiltDataset]:
    """The datasets in TRM_DATASETS_DIR whose test split can be read, by name; others are skipped."""
    root = Path(settings.TRM_DATASETS_DIR)
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            metadata = json.loads((folder / EVALUATED_SPLIT / "dataset.json").read_text())
            seq_len, vocab_size = int(metadata["seq_len"]), int(metadata["vocab_size"])
            kind = kind_of_shape(vocab_size, seq_len)
            if kind is not None:
                found.append(BuiltDataset(folder.name, kind, seq_len, int(metadata.get("total_puzzles", 0))))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def _checkpoint_side(checkpoint: Checkpoint) -> int | None:
    return checkpoint.maze_field if checkpoint.kind == "maze" else checkpoint.arc_canvas


def _parse_sizes(text: str, field: int) -> list[int]:
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise EvaluationRefused("sizes", f"maze sizes {text!r} are not whole numbers separated by commas, e.g. 5,7,9") from None
    if not sizes:
        raise EvaluationRefused("sizes", "give at least one maze size, e.g. 5,7,9")
    wrong = [size for size in sizes if not SMALLEST_MAZE <= size <= field]
    if wrong:
        raise EvaluationRefused("sizes", f"maze sizes {wrong} are outside {SMALLEST_MAZE}-{field}: the checkpoint's "
                                         f"field is {field}x{field}")
    return sizes


def generated_set(checkpoint: Checkpoint, *, count: int, seed: int, bands: str = "", sizes: str = "") -> dict:
    """The description of a set the worker generates for `checkpoint`'s kind (what `generated` holds)."""
    if not 1 <= count <= settings.TRM_EVALUATION_MAX_PUZZLES:
        raise EvaluationRefused("count", f"generate 1 to {settings.TRM_EVALUATION_MAX_PUZZLES} puzzles, not {count}")
    if checkpoint.kind == "sudoku":
        from solver.datasets.sudoku import parse_bands  # numpy only

        try:
            parse_bands(bands or "0-")
        except ValueError as error:
            raise EvaluationRefused("bands", f"{error}; e.g. 0,1-3,4- (guesses a backtracking solver needs)") from None
        return {"kind": "sudoku", "count": count, "bands": bands or "0-", "seed": seed}
    if checkpoint.kind == "maze":
        field = checkpoint.maze_field or MIN_MAZE_FIELD
        return {"kind": "maze", "count": count, "sizes": _parse_sizes(sizes or str(field), field), "field": field,
                "seed": seed}
    raise EvaluationRefused("source", "ARC sets cannot be generated here: an ARC model knows a task by its learned "
                                      "embedding row, so new tasks need test-time fitting (bench/arc_fitting.py); "
                                      "evaluate on a built dataset the checkpoint was trained on")


def set_key(*, dataset_name: str = "", generated: dict | None = None, limit: int) -> str:
    """One string per set of puzzles: evaluations with the same key saw the same puzzles."""
    if dataset_name:
        return f"built:{dataset_name}:limit={limit}"
    assert generated is not None
    return "generated:" + ":".join(f"{key}={generated[key]}" for key in sorted(generated))


def evaluation_create(*, checkpoint: Checkpoint, dataset_name: str = "", generated: dict | None = None,
                      limit: int | None = None, batch_size: int = 64, requested_by=None) -> Evaluation:
    """Check the request against the checkpoint and the set, save it, and queue it once committed."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise EvaluationRefused("batch_size", f"batch size must be 1 to {MAX_BATCH_SIZE}, not {batch_size}")
    if dataset_name:
        dataset = next((d for d in built_datasets() if d.name == dataset_name), None)
        if dataset is None:
            raise EvaluationRefused("dataset_name", f"no dataset {dataset_name!r} in {settings.TRM_DATASETS_DIR}")
        if dataset.kind != checkpoint.kind:
            raise EvaluationRefused("dataset_name", f"{dataset.name} holds {dataset.kind} puzzles; "
                                                    f"{checkpoint.name} is a {checkpoint.kind} model")
        if checkpoint.seq_len and dataset.seq_len != checkpoint.seq_len:
            raise EvaluationRefused("dataset_name", f"{dataset.name} has {dataset.seq_len} positions a puzzle, "
                                                    f"{checkpoint.name} {checkpoint.seq_len} (another field or canvas)")
        limit = limit or min(dataset.puzzles, settings.TRM_EVALUATION_MAX_PUZZLES) or 1
        generated = {}
    elif generated:
        limit = generated["count"]
    else:
        raise EvaluationRefused("source", "choose a built dataset or a set to generate")
    if not 1 <= limit <= settings.TRM_EVALUATION_MAX_PUZZLES:
        raise EvaluationRefused("limit", f"evaluate 1 to {settings.TRM_EVALUATION_MAX_PUZZLES} puzzles, not {limit}")
    evaluation = Evaluation.objects.create(
        checkpoint=checkpoint, dataset_name=dataset_name, generated=generated, limit=limit, batch_size=batch_size,
        set_key=set_key(dataset_name=dataset_name, generated=generated, limit=limit), requested_by=requested_by,
    )
    transaction.on_commit(lambda: evaluation_enqueue(evaluation_id=evaluation.id))
    return evaluation


def evaluation_enqueue(*, evaluation_id) -> bool:
    """Send the evaluation to the workers' queue; when Redis cannot take it, fail it with the reason (an
    evaluation is asked for by a person at the page, who can ask again). False when the sweep sent it first."""
    if not _claim_sending(evaluation_id, previously_enqueued_at=None):
        return False
    try:
        _send(evaluation_id)
        return True
    except Exception as error:
        logger.warning("could not queue evaluation %s: %s", evaluation_id, error)
        Evaluation.objects.filter(id=evaluation_id, status=Evaluation.Status.QUEUED).update(
            status=Evaluation.Status.FAILED, finished_at=timezone.now(),
            error=f"the queue (Redis) could not be reached, so no worker got it: {error}; evaluate again")
        return False


def evaluations_requeue_lost() -> int:
    """Send again the queued evaluations whose message has waited TRM_REQUEUE_AFTER, as the sweep does for jobs
    (services/queueing.py): Redis restarted without persistence and lost its queue, say. A message that was
    only slow is then delivered twice, which is harmless: a worker runs an evaluation only while it is queued
    (services/evaluation_execution.py). The number sent."""
    waited_long = timezone.now() - timedelta(seconds=settings.TRM_REQUEUE_AFTER)
    queued = Evaluation.objects.filter(status=Evaluation.Status.QUEUED)
    waiting = queued.filter(Q(enqueued_at__lt=waited_long) | Q(enqueued_at__isnull=True, created_at__lt=waited_long))
    sent = 0
    for evaluation_id, enqueued_at in waiting.values_list("id", "enqueued_at")[:100]:
        if not _claim_sending(evaluation_id, previously_enqueued_at=enqueued_at):
            continue  # another worker's sweep sent it
        try:
            _send(evaluation_id)
            sent += 1
        except Exception as error:  # the next sweep past TRM_REQUEUE_AFTER tries again
            logger.warning("could not queue evaluation %s again: %s", evaluation_id, error)
    if sent:
        logger.info("queued %d evaluations again whose message was lost", sent)
    return sent


def _claim_sending(evaluation_id, *, previously_enqueued_at) -> bool:
    """Record that the message is being sent now; only the caller that still sees `previously_enqueued_at`
    gets True, so concurrent sweeps (and a sweep racing the first send) send it once."""
    return bool(Evaluation.objects.filter(id=evaluation_id, status=Evaluation.Status.QUEUED,
                                          enqueued_at=previously_enqueued_at).update(enqueued_at=timezone.now()))


def _send(evaluation_id) -> None:
    current_app.send_task(RUN_EVALUATION, args=[str(evaluation_id)], queue=settings.TRM_SOLVE_QUEUE)
