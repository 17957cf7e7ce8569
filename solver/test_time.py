"""Answering an ARC task that has no learned puzzle embedding: fit one at test time, solve, vote.

TRM never sees an ARC task's demonstration pairs at inference: all it knows of the task is the puzzle
embedding the training learned for it (and for each of its ~1000 augmentations). A task drawn by hand has
none, so it gets one here, the way the training got its own:

1. fit: new puzzle-embedding rows, one per augmentation, start at zero (as at the start of training) and
   are trained on the task's demonstration pairs, each under every augmentation the reference builder
   draws (dihedral transform and colour permutation with the builder's own drawing, plus its random
   translation of all but one pair). Each update is the trainer's: one deep-supervision step of a carried
   batch (`solver.supervision.supervision_step`), stablemax cross-entropy plus half the halting BCE
   (`solver.losses.act_loss`), sign-SGD on the rows (`solver.optim.sparse_sign_sgd_`). The network is
   frozen: its parameters get no gradient and no optimiser state, and are not written.
2. solve: every test input under every augmentation runs all supervision steps (`solve_steps`) with its
   augmentation's row; answers are cropped and mapped back through the inverse augmentation.
3. vote: as the evaluator votes (`solver.evaluate.Ballot`): most votes first, then the highest mean
   halting probability; the first two are the two attempts (pass@2).

A task the checkpoint was trained on (its name is in the checkpoint's recorded identifiers) keeps its
learned rows and augmentations (`known_task_embeddings`): no fitting, the same solving and voting.

One row per augmentation, not one shared by all (`shared=True` measures the other choice). TRM cannot read
the demonstrations, so the row alone must say what to do, and a colour permutation or a rotation of a task
is in general another task (recolour red to blue becomes recolour p(red) to p(blue)): one shared row would
have to name K different rules at once. The reference learns one row per augmentation for this reason.
Measured on an untrained tiny checkpoint (hidden 32; before any ARC demo was trained), 4 views of a
2-pair task, 40 updates at lr 0.05: the first supervision step's loss on the demonstrations went from 2.820
(zero rows) to 2.459 with a row per augmentation and to 2.540 with one shared row. A random network says
little about answers; a trained checkpoint is needed to compare pass@2.

`run_task` chains the phases as a generator of events (FitProgress, TaskStep, TaskVotes), so the command
line (`python -m solver fit-solve`) and the web worker stream the same thing.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Iterator, Sequence, cast

import numpy as np
import torch

from solver.codecs import ARC_PAD, CANVAS, ArcCodec, codec_for
from solver.datasets.arc import (SEPARATOR, TaskPlan, _draw_augmentations, augmentation, augmentation_name,
                                 inverse_augmentation, place)
from solver.voting import Ballot, arc_crop
from solver.inference import StepResult, solve_steps
from solver.limits import DEFAULT_LR, Budget, BudgetError
from solver.losses import IGNORE_LABEL_ID, LOSS_FUNCTIONS, act_loss
from solver.model import TRM, PuzzleEmbedding
from solver.optim import sparse_sign_sgd_
from solver.supervision import HALT_EXPLORATION_PROB, Carry, supervision_step

# The reference's puzzle-embedding weight decay for ARC (decoupled; its sign-SGD rate is limits.DEFAULT_LR).
DEFAULT_WEIGHT_DECAY = 0.1


# ------------------------------------------------------------------------------------- augmentations


@dataclass(frozen=True)
class Augmentation:
    """One view of a task: colours recoloured by `colours` (0 stays 0), then dihedral transform `transform`."""

    transform: int = 0  # 0-7, numbered as the reference builder numbers them
    colours: tuple[int, ...] = tuple(range(10))  # colour c is drawn as colours[c]

    @classmethod
    def from_name(cls, name: str) -> "Augmentation":
        """The augmentation an identifier name "<task>|||t<k>|||<colours>" stands for (a bare name: identity)."""
        parts = name.split("|||")
        if len(parts) < 3:
            return cls()
        return cls(int(parts[-2][1:]), tuple(int(c) for c in parts[-1]))

    @property
    def is_identity(self) -> bool:
        return self == Augmentation()

    @property
    def name(self) -> str:
        return augmentation_name("task", self.transform, np.array(self.colours)) if not self.is_identity else "task"

    def apply(self, grid: Any) -> np.ndarray:
        return augmentation(self.transform, np.array(self.colours, dtype=np.uint8))(np.asarray(grid, dtype=np.uint8))

    def undo(self, grid: np.ndarray) -> np.ndarray:
        return inverse_augmentation(self.name)[1](np.asarray(grid, dtype=np.uint8))

    def describe(self) -> dict[str, Any]:
        return {"dihedral": self.transform, "colours": list(self.colours)}


def _pairs(task: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.asarray(p["input"], dtype=np.uint8), np.asarray(p["output"], dtype=np.uint8)) for p in task["train"]]


def draw_augmentations(task: dict, count: int, seed: int = 42) -> list[Augmentation]:
    """The identity, then up to count - 1 augmentations drawn as the reference builder draws them (a draw
    that leaves the demonstrations as another view already has is skipped, so a symmetric task may get
    fewer)."""
    if count < 1:
        raise BudgetError(f"augmentations must be at least 1, got {count}")
    plan = TaskPlan("task", {"train": _pairs(task)})
    # The builder's own drawing, so a task gets the same kinds of views it would have had in training.
    _draw_augmentations(plan, count - 1, np.random.RandomState(seed), log=lambda message: None)
    return [Augmentation()] + [Augmentation(int(t), tuple(int(c) for c in colours)) for t, colours in plan.augmentations]


# --------------------------------------------------------------------------------------- embeddings


@dataclass
class TaskEmbeddings:
    """Which puzzle-embedding row each augmentation of a task uses, and the table holding the rows.

    `table` None: the checkpoint's own table (a known task's learned rows); otherwise fitted rows.
    """

    augmentations: list[Augmentation]
    rows: list[int]  # row of each augmentation
    table: torch.Tensor | None = None  # [rows, puzzle_emb_ndim], on the model's device
    fit_steps: int = 0  # updates the rows got
    losses: list[float] = field(default_factory=list)  # loss of every update
    started_from: WarmStart | None = None  # fitted rows that started from learned ones (None: from zero)

    @property
    def fitted(self) -> bool:
        return self.table is not None


def known_task_embeddings(identifiers: Sequence[str] | None, task_name: str | None,
                          limit: int | None = None) -> TaskEmbeddings | None:
    """The learned rows of a task the checkpoint was trained on (original first, then its augmentations, at
    most `limit`), or None when `task_name` is not among the checkpoint's identifiers."""
    if not identifiers or not task_name:
        return None
    rows = [i for i, name in enumerate(identifiers) if inverse_augmentation(name)[0] == task_name]
    rows.sort(key=lambda i: "|||" in identifiers[i])  # the task itself (identity) first
    if not rows:
        return None
    rows = rows[:limit] if limit else rows
    return TaskEmbeddings([Augmentation.from_name(identifiers[i]) for i in rows], rows)


def with_puzzle_table(model: TRM, table: torch.Tensor) -> TRM:
    """A TRM that shares every network tensor of `model` (no copy) but looks puzzle ids up in `table`."""
    view = copy.copy(model)
    view._modules = dict(model._modules)  # a module dict of its own, so `model` keeps its puzzle table
    embedding = PuzzleEmbedding(0, table.shape[1])
    embedding.weights = table
    view._modules["puzzle_emb"] = embedding
    view.config = dataclasses.replace(model.config, num_puzzle_identifiers=table.shape[0])
    return view


@contextmanager
def frozen(model: TRM) -> Iterator[None]:
    """No gradient for the network's parameters while fitting (restored afterwards)."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


# ------------------------------------------------------------------------------------------- fitting


@dataclass
class WarmStart:
    """The learned row a fit starts from: of the candidates tried, the checkpoint row whose answers to the
    demonstration pairs came closest, with its loss and accuracy there before any update."""

    row: int
    name: str  # the row's identifier (its task, as trained), or "row N" when the checkpoint has no names
    loss: float  # the trainer's answer loss per demonstration pair, after every supervision step
    accuracy: float  # share of the demonstration outputs' cells it got right
    candidates: int  # rows tried


def _candidate_rows(identifiers: Sequence[str] | None, rows: int, candidates: int, seed: int) -> list[int]:
    """`candidates` learned rows to score, drawn with `seed`: with names, one task of each family in turn
    (a generated task is named `<family>-<n>`), so that a few candidates cover every rule the checkpoint was
    trained on instead of the families a random draw happens to hit; without names, any rows."""
    rng = np.random.RandomState(seed)
    names = list(identifiers or [])
    pool = [i for i, name in enumerate(names) if i > 0 and SEPARATOR not in name and name != "<blank>"]
    if not pool:
        pool = list(range(1, rows))
        return sorted(int(i) for i in rng.choice(pool, size=min(candidates, len(pool)), replace=False))
    families: dict[str, list[int]] = {}
    for row in pool:
        families.setdefault(names[row].rsplit("-", 1)[0], []).append(row)
    queues = [list(rng.permutation(members)) for _, members in sorted(families.items())]
    rng.shuffle(queues)
    chosen: list[int] = []
    while len(chosen) < min(candidates, len(pool)):
        for queue in queues:
            if queue and len(chosen) < candidates:
                chosen.append(int(queue.pop()))
    return sorted(chosen)


def warm_start_rows(model: TRM, task: dict, *, candidates: int, identifiers: Sequence[str] | None = None,
                    seed: int = 0) -> WarmStart | None:
    """Try `candidates` learned rows of the checkpoint on the task's demonstration pairs (as drawn, in one
    batch, no gradient) and keep the one whose answers after every supervision step have the lowest loss.

    A checkpoint trained on many tasks of a rule family holds rows that already mean such a rule; a drawn
    task of that family is nearly answered by one of them, and its fit starts there instead of at zero (every
    augmentation's row does; the fit then turns each to its own view). Candidates are the rows of distinct
    tasks as trained (not their augmentations) when the names are known, spread over their families
    (`_candidate_rows`), else any rows, drawn with `seed`. None when the checkpoint has no learned rows to try.
    """
    cfg = model.config
    if candidates <= 0 or cfg.num_puzzle_identifiers <= 1 or not hasattr(model, "puzzle_emb"):
        return None
    chosen = _candidate_rows(identifiers, cfg.num_puzzle_identifiers, candidates, seed)
    codec = codec_for("arc", cfg.seq_len)
    pairs = _pairs(task)
    inputs = torch.from_numpy(np.stack([codec.encode(x.tolist()) for _ in chosen for x, _ in pairs]).astype(np.int64))
    labels = torch.from_numpy(np.stack([codec.encode(y.tolist()) for _ in chosen for _, y in pairs]).astype(np.int64))
    labels[labels == ARC_PAD] = IGNORE_LABEL_ID
    batch = {"inputs": inputs.to(model.device), "labels": labels.to(model.device),
             "puzzle_identifiers": torch.tensor([row for row in chosen for _ in pairs], device=model.device)}
    carry = Carry.empty(model, batch)
    carry.z_H, carry.z_L = carry.z_H.to(model.dtype), carry.z_L.to(model.dtype)
    with torch.no_grad(), frozen(model):
        for _ in range(cfg.halt_max_steps):
            carry, logits, _q_halt, _rows = supervision_step(model, carry, batch, exploration_prob=0.0, generator=None)
    labelled = carry.labels != IGNORE_LABEL_ID
    loss = (LOSS_FUNCTIONS[cfg.loss_type](logits, carry.labels).sum(-1) / labelled.sum(-1)).view(len(chosen), len(pairs)).mean(1)
    right = ((logits.argmax(-1) == carry.labels) & labelled).sum(-1) / labelled.sum(-1)
    best = int(loss.argmin())
    row = chosen[best]
    name = identifiers[row] if identifiers and row < len(identifiers) else f"row {row}"
    return WarmStart(row, name, round(float(loss[best]), 6),
                     round(float(right.view(len(chosen), len(pairs)).mean(1)[best]), 4), len(chosen))


@dataclass
class FitProgress:
    step: int  # 1-based update
    steps: int  # updates planned
    loss: float  # per example of the carried batch: token CE + 0.5 halting BCE (the trainer's loss)
    accuracy: float  # token accuracy of the carried batch's current answers on the demonstration outputs
    exact_accuracy: float  # share of the carried batch whose answer is entirely right
    seconds: float  # since fitting started
    started_from: WarmStart | None = None  # the learned rows the fit started from (None: zero rows)


def demonstration_examples(task: dict, augmentations: Sequence[Augmentation], rows: Sequence[int], seed: int,
                           canvas: int = CANVAS) -> dict[str, torch.Tensor]:
    """Every demonstration pair under every augmentation, on the canvas as the builder places them: one pair
    per augmentation at the top-left, the others moved (input and output together) to a random place."""
    rng = np.random.RandomState(seed)
    pairs = _pairs(task)
    inputs, labels, ids = [], [], []
    for aug, row in zip(augmentations, rows, strict=True):
        keep = rng.randint(0, len(pairs))
        for k, (x, y) in enumerate(pairs):
            placed_x, placed_y = place(aug.apply(x), aug.apply(y), rng, translate=k != keep, side=canvas)
            inputs.append(placed_x)
            labels.append(placed_y)
            ids.append(row)
    labels_array = np.stack(labels).astype(np.int64)
    labels_array[labels_array == 0] = IGNORE_LABEL_ID  # PAD is the ARC builder's ignore label
    return {"inputs": torch.from_numpy(np.stack(inputs).astype(np.int64)), "labels": torch.from_numpy(labels_array),
            "puzzle_identifiers": torch.tensor(ids, dtype=torch.long)}


def _batches(examples: dict[str, torch.Tensor], size: int, generator: torch.Generator) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches of `size` examples: each epoch visits every example once in a random order."""
    count = examples["inputs"].shape[0]
    order = torch.empty(0, dtype=torch.long)
    while True:
        while order.numel() < size:
            order = torch.cat((order, torch.randperm(count, generator=generator)))
        take, order = order[:size], order[size:]
        yield {name: values[take] for name, values in examples.items()}


def fit_steps(model: TRM, task: dict, *, augmentations: Sequence[Augmentation], steps: int, lr: float = DEFAULT_LR,
              weight_decay: float = DEFAULT_WEIGHT_DECAY, batch_size: int = 16, seed: int = 0, shared: bool = False,
              warm_start: int = 0, identifiers: Sequence[str] | None = None,
              cancel: Callable[[], bool] | None = None) -> Generator[FitProgress, None, TaskEmbeddings]:
    """`fit_task_embedding` as a generator: yields each update's progress, returns the embeddings.

    warm_start: learned rows to try as the starting point (`warm_start_rows`); 0 starts from zero rows."""
    cfg = model.config
    if cfg.kind != "arc" or cfg.puzzle_emb_ndim == 0:
        raise ValueError("test-time fitting needs an ARC model with a puzzle embedding")
    if not task.get("train"):
        raise ValueError("the task has no demonstration pairs to fit on")
    device = model.device
    rows = [0] * len(augmentations) if shared else list(range(len(augmentations)))
    table = torch.zeros(max(rows) + 1, cfg.puzzle_emb_ndim, device=device)  # zero, as training starts them
    started_from = warm_start_rows(model, task, candidates=warm_start, identifiers=identifiers,
                                   seed=seed) if warm_start else None
    if started_from is not None:
        table[:] = model.puzzle_emb.weights[started_from.row].to(device=device, dtype=table.dtype)
    embeddings = TaskEmbeddings(list(augmentations), rows, table)
    embeddings.started_from = started_from
    if steps <= 0:
        return embeddings
    view = with_puzzle_table(model, table)
    canvas = cast(ArcCodec, codec_for("arc", model.config.seq_len)).canvas
    examples = {k: v.to(device) for k, v in demonstration_examples(task, augmentations, rows, seed, canvas).items()}
    size = min(batch_size, examples["inputs"].shape[0])
    generator = torch.Generator().manual_seed(seed)
    exploration = torch.Generator(device=device).manual_seed(seed)
    batches = _batches(examples, size, generator)
    carry = Carry.empty(view, {name: values[:size] for name, values in examples.items()})
    # The inference model keeps its own dtype (bf16 on a GPU); the carried state must match it.
    carry.z_H, carry.z_L = carry.z_H.to(view.dtype), carry.z_L.to(view.dtype)
    started = time.perf_counter()
    with frozen(model):
        for step in range(1, steps + 1):
            if cancel is not None and cancel():
                break
            carry, logits, q_halt, row_values = supervision_step(
                view, carry, next(batches), exploration_prob=HALT_EXPLORATION_PROB,
                generator=exploration)
            loss, _metrics = act_loss(logits, q_halt, carry.labels, carry.halted, carry.steps, cfg.loss_type)
            (loss / size).backward()
            row_grads = row_values.grad if row_values is not None else None
            assert row_grads is not None, "the view has a puzzle table, so the step hands back its rows"
            sparse_sign_sgd_(table, carry.puzzle_identifiers, row_grads, lr=lr, weight_decay=weight_decay)
            accuracy, exact = _answer_accuracy(logits.detach(), carry.labels)
            embeddings.fit_steps = step
            embeddings.losses.append(float(loss.detach()) / size)
            yield FitProgress(step, steps, embeddings.losses[-1], accuracy, exact, time.perf_counter() - started,
                              started_from)
    return embeddings


def _answer_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(mean token accuracy, share entirely right) of the batch's answers, over labelled positions."""
    mask = labels != IGNORE_LABEL_ID
    correct = (logits.argmax(-1) == labels) & mask
    counts = mask.sum(-1).clamp_min(1)
    return float((correct.sum(-1) / counts).mean()), float((correct.sum(-1) == mask.sum(-1)).float().mean())


def fit_task_embedding(model: TRM, task: dict, *, augmentations: Sequence[Augmentation], steps: int,
                       lr: float = DEFAULT_LR, seed: int = 0, batch_size: int = 16, shared: bool = False,
                       progress_callback: Callable[[FitProgress], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> TaskEmbeddings:
    """Fit new puzzle-embedding rows for `task` (module docstring); the network is not changed.

    task: {"train": [{"input", "output"}, ...], "test": [{"input"}, ...]} as the REST API takes it.
    augmentations: the views to fit (see `draw_augmentations`), the identity first. shared: one row for
    every augmentation instead of one each. progress_callback gets each update's FitProgress; cancel is
    checked before each update and stops the fit early (the rows keep what they learned).
    """
    fitting = fit_steps(model, task, augmentations=augmentations, steps=steps, lr=lr, seed=seed,
                        batch_size=batch_size, shared=shared, cancel=cancel)
    while True:
        try:
            progress = next(fitting)
        except StopIteration as done:
            return done.value
        if progress_callback is not None:
            progress_callback(progress)


# ----------------------------------------------------------------------------------- solving, voting


@dataclass
class TaskStep:
    """One supervision step of every (augmentation, test input): row a * tests + t of `result`."""

    result: StepResult
    augmentations: list[Augmentation]
    tests: int
    answers: list[list[np.ndarray]]  # [augmentation][test]: cropped answer mapped back to the task's frame

    @property
    def step(self) -> int:
        return self.result.step

    def row(self, augmentation: int, test: int) -> int:
        return augmentation * self.tests + test


@dataclass
class TestVote:
    """The vote on one test input: the two attempts, and every distinct answer best first."""

    attempts: list[np.ndarray]
    candidates: list[dict[str, Any]]  # {"grid", "count", "confidence"}


def solve_task_steps(model: TRM, task: dict, embeddings: TaskEmbeddings, *, steps: int | None = None,
                     cancel: Callable[[], bool] | None = None) -> Iterator[TaskStep]:
    """Every test input under every augmentation, one batch, yielded after each supervision step."""
    codec = codec_for("arc", model.config.seq_len)
    tests = [np.asarray(t["input"], dtype=np.uint8) for t in task["test"]]
    inputs = np.stack([codec.encode(aug.apply(x).tolist()) for aug in embeddings.augmentations for x in tests])
    ids = [row for row in embeddings.rows for _ in tests]
    solver_model = model if embeddings.table is None else with_puzzle_table(model, embeddings.table)
    for result in solve_steps(solver_model, inputs, ids, steps=steps, cancel=cancel):
        answers = [[aug.undo(arc_crop(result.tokens[a * len(tests) + t])) for t in range(len(tests))]
                   for a, aug in enumerate(embeddings.augmentations)]
        yield TaskStep(result, embeddings.augmentations, len(tests), answers)


def vote(last: TaskStep) -> list[TestVote]:
    """The evaluator's vote over the augmentations' final answers, per test input."""
    votes = []
    for t in range(last.tests):
        ballot = Ballot()
        for a, answers in enumerate(last.answers):
            ballot.add(answers[t], float(last.result.q_halt_logit[last.row(a, t)]))
        ranked = [candidate for _, candidate in ballot.ranked()]
        votes.append(TestVote(attempts=[c.grid for c in ranked[:2]],
                              candidates=[{"grid": c.grid.tolist(), "count": c.count,
                                           "confidence": round(c.confidence, 6)} for c in ranked]))
    return votes


def solve_task(model: TRM, task: dict, embeddings: TaskEmbeddings, *, steps: int | None = None) -> list[TestVote]:
    """Run all supervision steps on each augmented test input and vote; one TestVote per test input."""
    last = None
    for last in solve_task_steps(model, task, embeddings, steps=steps):  # noqa: B007 (the last step is the answer)
        pass
    if last is None:
        raise ValueError("steps must be at least 1")
    return vote(last)


# ----------------------------------------------------------------------------------- the three phases


@dataclass
class TaskVotes:
    votes: list[TestVote]
    timings: dict[str, float]  # seconds of each phase: fit, solve, vote
    fitted: bool  # False for a known task (its learned rows)


def check_fits_canvas(task: dict, seq_len: int) -> None:
    """Raise PuzzleError, naming the grid, unless every grid of the task fits the model's canvas (before any
    work: the demonstration pairs are placed on it for fitting, the test inputs for solving)."""
    from solver.codecs import PuzzleError

    codec = codec_for("arc", seq_len)
    for part in ("train", "test"):
        for index, pair in enumerate(task[part]):
            for key in ("input", "output"):
                if key in pair:
                    try:
                        codec.encode(pair[key])
                    except PuzzleError as error:
                        raise PuzzleError(f"{part}[{index}].{key}: {error}") from None


def run_task(model: TRM, task: dict, *, budget: Budget, identifiers: Sequence[str] | None = None,
             steps: int | None = None, seed: int = 0, cancel: Callable[[], bool] | None = None
             ) -> Iterator[FitProgress | TaskStep | TaskVotes]:
    """Fit (unless the task is known to the checkpoint), solve and vote, yielding every event on the way.

    Ends without a TaskVotes when `cancel` stops it. identifiers: the checkpoint's recorded identifier
    names; a task whose "task" name is among them keeps its learned rows.
    """
    check_fits_canvas(task, model.config.seq_len)
    timings = {"fit": 0.0, "solve": 0.0, "vote": 0.0}
    embeddings = known_task_embeddings(identifiers, task.get("task"), limit=budget.augmentations)
    if embeddings is None:
        started = time.perf_counter()
        augmentations = draw_augmentations(task, budget.augmentations, seed=42 + seed)
        embeddings = yield from fit_steps(model, task, augmentations=augmentations, steps=budget.fit_steps, lr=budget.lr,
                                          batch_size=budget.batch_size, seed=seed, warm_start=budget.warm_start,
                                          identifiers=identifiers, cancel=cancel)
        timings["fit"] = time.perf_counter() - started
        if embeddings.fit_steps < budget.fit_steps:
            return
    started = time.perf_counter()
    last = None
    for last in solve_task_steps(model, task, embeddings, steps=steps, cancel=cancel):
        yield last
    timings["solve"] = time.perf_counter() - started
    total = model.config.halt_max_steps if steps is None else steps
    if last is None or last.step < total:
        return
    started = time.perf_counter()
    votes = vote(last)
    timings["vote"] = time.perf_counter() - started
    yield TaskVotes(votes, {k: round(v, 4) for k, v in timings.items()}, fitted=embeddings.fitted)


# ------------------------------------------------------------------------------------- command line


def read_task(text: str) -> dict:
    """An ARC task from JSON: {"train": [{"input", "output"}, ...], "test": [{"input"}, ...], "task"?}."""
    import json

    from solver.codecs import PuzzleError

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise PuzzleError(f"the task is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("train"), list) or not isinstance(raw.get("test"), list):
        raise PuzzleError('an ARC task is a JSON object {"train": [{"input", "output"}, ...], "test": [{"input"}, ...]}')
    if not raw["test"]:
        raise PuzzleError("the task has no test input")
    codec = cast(ArcCodec, codec_for("arc"))
    task: dict[str, Any] = {
        "train": [{key: codec.from_json(pair.get(key) if isinstance(pair, dict) else None, where=f"train[{i}].{key}: ")
                   for key in ("input", "output")} for i, pair in enumerate(raw["train"])],
        "test": [{"input": codec.from_json(pair.get("input") if isinstance(pair, dict) else None,
                                           where=f"test[{i}].input: ")} for i, pair in enumerate(raw["test"])],
    }
    if isinstance(raw.get("task"), str):
        task["task"] = raw["task"]
    return task


def started_from_record(warm: WarmStart) -> dict[str, Any]:
    """The learned row a fit started from, as the stream and the command line say it."""
    return dataclasses.asdict(warm)


def event_record(event: FitProgress | TaskStep | TaskVotes) -> dict[str, Any]:
    """One event as a JSON object (a `phase` field says which)."""
    if isinstance(event, FitProgress):
        record = {"phase": "fit", "step": event.step, "steps": event.steps, "loss": round(event.loss, 6),
                  "accuracy": round(event.accuracy, 6), "exact_accuracy": round(event.exact_accuracy, 6),
                  "seconds": round(event.seconds, 4)}
        if event.step == 1 and event.started_from is not None:
            record["started_from"] = started_from_record(event.started_from)
        return record
    if isinstance(event, TaskStep):  # the identity view's answers (first augmentation), like `solve` prints
        return {"phase": "solve", "step": event.step, "augmentations": len(event.augmentations),
                "grids": [answer.tolist() for answer in event.answers[0]],
                "halt_prob": [round(float(event.result.halt_prob[event.row(0, t)]), 6) for t in range(event.tests)],
                "seconds": round(event.result.seconds, 4)}
    return {"phase": "vote", "fitted": event.fitted, "timings": event.timings,
            "tests": [{"attempts": [g.tolist() for g in v.attempts], "candidates": v.candidates} for v in event.votes]}
