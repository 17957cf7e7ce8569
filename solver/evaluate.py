"""Held-out evaluation of a checkpoint on a dataset directory, with the reference's metrics.

    python -m solver evaluate CHECKPOINT DATASET [--split test] [--limit N] [--batch-size B] [--steps N]
                              [--halt [T]] [--samples K] [--views V] [--seed N] [--noise S] [--select halt|vote]
                              [--device cpu|cuda] [--json] [--record]

The test-time options are those of `solve` (solver/thinking.py): each puzzle is graded on its chosen answer
after each step; with --halt a puzzle that stopped keeps its answer for the later steps.

Every puzzle runs `halt_max_steps` supervision steps from H_init / L_init (as the reference evaluates) and
is graded after each step, so the figures say what accuracy the model would have if stopped after step k.
The halting head is read on the side: the step where its logit first turns positive is where the model
would stop; its statistics and the accuracy of the answer given there are reported too.

- Every kind: exact accuracy (every labelled position right) and token accuracy, after each step.
- Sudoku: exact accuracy is the figure; with the builder's per-puzzle rating (<set>__difficulty.npy, the
  guesses a backtracking solver needs) also by difficulty band (0, 1, 2-3, 4-7, ...).
- Mazes: the share of answers that are a valid shortest path (`maze_path_is_shortest`): shortest paths are
  often not unique, so an answer that differs from the label can still be right; with the builder's
  <set>__size.npy also by maze size.
- ARC: pass@1 and pass@2 with the reference's voting: each augmented copy's answer is cropped and mapped
  back through its inverse augmentation (read from the identifier's name in DATASET/identifiers.json,
  "<task>|||t<dihedral>|||<colour permutation>"); answers to the same test input are counted, and ranked by
  votes, then by mean halting confidence. Without identifiers.json each identifier counts as its own task
  with no augmentation. The ground truth is the dataset's own label, so --limit still gives a fair figure
  on the inputs it covers. Generated tasks (build-dataset arc-synth, named `<family>-<n>`) are also scored
  by rule family.

`--record` writes the figures into the checkpoint's provenance["evaluation"] (project format only); the
tensors and their content hash are unchanged.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Callable

import numpy as np

from solver.checkpoint import (CheckpointError, is_project_file, load_checkpoint, read_project,
                               resolve_checkpoint_path, write_project)
from solver.codecs import CANVAS, MAZE_SYMBOLS, MIN_MAZE_FIELD, codec_for, maze_field
from solver.data import PuzzleSplit, load_split, ordered_examples
from solver.datasets import maze as maze_dataset
from solver.datasets.arc import inverse_augmentation
from solver.limits import DEFAULT_NOISE_SCALE, check_test_time
from solver.thinking import think_steps
from solver.voting import Ballot, arc_crop, grid_hash
from solver.losses import IGNORE_LABEL_ID
from solver.model import TRM

WALL, START, GOAL = (MAZE_SYMBOLS.index(ch) + 1 for ch in "#SG")
PASS_KS = (1, 2)


# --------------------------------------------------------------------------------------------- mazes


def as_maze_field(tokens: np.ndarray) -> np.ndarray:
    """Maze tokens as the square field they fill (30x30, or a smaller field's side; see solver/codecs.py)."""
    tokens = np.asarray(tokens)
    if tokens.ndim == 2:
        return tokens
    side = maze_field(tokens.size)
    if side is None:
        raise ValueError(f"{tokens.size} maze tokens do not fill a square field of {MIN_MAZE_FIELD}-{CANVAS} cells a side")
    return tokens.reshape(side, side)


def maze_rows(tokens: np.ndarray) -> list[str]:
    """Maze tokens as the rows of symbols the maze dataset checks ('?' for a token that is no maze symbol)."""
    return ["".join(MAZE_SYMBOLS[t - 1] if 1 <= t <= len(MAZE_SYMBOLS) else "?" for t in row.tolist())
            for row in as_maze_field(tokens)]


def maze_shortest_length(inputs: np.ndarray) -> int | None:
    """Moves on a shortest path from S to G of a maze given as tokens (its square field), None if there is none."""
    grid = as_maze_field(inputs)
    if (grid == START).sum() != 1 or (grid == GOAL).sum() != 1:
        return None
    return maze_dataset.shortest_length(maze_rows(grid))


def maze_path_is_shortest(inputs: np.ndarray, answer: np.ndarray, shortest: int | None = None) -> bool:
    """Whether `answer` (tokens) is the maze `inputs` with a shortest S-to-G path drawn in 'o' cells: the
    maze dataset's own check (`is_valid_shortest_path`), on tokens. `shortest` saves finding its length
    again when one maze is checked at every step."""
    grid = as_maze_field(inputs)
    answer_rows = maze_rows(np.asarray(answer).reshape(grid.shape))
    return maze_dataset.is_valid_shortest_path(maze_rows(grid), answer_rows, shortest=shortest)


# ----------------------------------------------------------------------------------------------- ARC


class ArcVotes:
    """Answers to each (task, test input), voted over the augmented copies as the reference does."""

    def __init__(self, identifiers: list[str] | None):
        self.identifiers = identifiers
        self.votes: dict[tuple[str, str], Ballot] = {}
        self.truth: dict[tuple[str, str], str] = {}

    def add(self, identifier: int, inputs: np.ndarray, labels: np.ndarray, answer: np.ndarray,
            q_halt_logit: float) -> None:
        name = self.identifiers[identifier] if self.identifiers else f"puzzle {identifier}"
        task, undo = inverse_augmentation(name)
        key = (task, grid_hash(undo(arc_crop(inputs))))
        self.truth.setdefault(key, grid_hash(undo(arc_crop(labels))))
        self.votes.setdefault(key, Ballot()).add(undo(arc_crop(answer)), q_halt_logit)

    def ranked(self, key: tuple[str, str]) -> list[str]:
        """Answer hashes best first: most votes, then highest mean halting confidence."""
        return [h for h, _ in self.votes[key].ranked()]

    def scores(self) -> dict[str, Any]:
        per_task: dict[str, list[list[bool]]] = {}
        for key in self.votes:
            ranked = self.ranked(key)
            per_task.setdefault(key[0], []).append([self.truth[key] in ranked[:k] for k in PASS_KS])
        out: dict[str, Any] = {"tasks": len(per_task), "test_inputs": len(self.votes)}
        for i, k in enumerate(PASS_KS):
            task_scores = [np.mean([hits[i] for hits in tests]) for tests in per_task.values()]
            out[f"pass@{k}"] = float(np.mean(task_scores)) if task_scores else 0.0
        families: dict[str, list[float]] = {}
        for task, tests in per_task.items():
            family = task_family(task)
            if family is not None:
                families.setdefault(family, []).append(float(np.mean([hits[-1] for hits in tests])))
        if families:
            out["by_family"] = [{"family": name, "tasks": len(scores), "pass@2": round(float(np.mean(scores)), 6)}
                                for name, scores in sorted(families.items())]
        return out


def task_family(task: str) -> str | None:
    """The rule family of a generated task, named `<family>-<n>` by build-dataset arc-synth (held-out ones
    `unseen-<family>-<n>`); None for other names (ARC-AGI's are hexadecimal)."""
    family, dash, number = task.rpartition("-")
    return family if dash and family and number.isdigit() else None


# ------------------------------------------------------------------------------------------ grading


def difficulty_band(rating: int) -> tuple[int, int]:
    """Bands of doubling width for ratings that count guesses: 0, 1, 2-3, 4-7, 8-15, ..."""
    if rating <= 0:
        return (0, 0)
    low = 1 << (rating.bit_length() - 1)
    return (low, 2 * low - 1)


def _count(tallies: dict, keys: list, right: np.ndarray) -> None:
    """Add each puzzle to the [puzzles, right] tally of its key (difficulty band, maze size)."""
    for key, ok in zip(keys, right.tolist()):
        tally = tallies.setdefault(key, [0, 0])
        tally[0] += 1
        tally[1] += int(ok)


class Grader:
    """Streaming per-step figures over batches of graded answers."""

    def __init__(self, kind: str, steps: int, identifiers: list[str] | None):
        self.kind, self.steps = kind, steps
        self.count = 0
        self.exact = np.zeros(steps)
        self.token = np.zeros(steps)
        self.valid_path = np.zeros(steps)
        self.halt_steps: list[int] = []  # 1-based step where the halting logit first turns positive; 0 = never
        self.correct_at_halt = 0
        self.q_halt_right = 0
        self.arc = ArcVotes(identifiers) if kind == "arc" else None
        self.by_band: dict[tuple[int, int], list[int]] = {}  # (low, high) rating -> [puzzles, right]
        self.by_size: dict[int, list[int]] = {}  # maze width -> [puzzles, right]

    def add(self, inputs: np.ndarray, raw_labels: np.ndarray, labels: np.ndarray, identifiers: np.ndarray,
            answers: list[np.ndarray], q_halt: list[np.ndarray], difficulty: np.ndarray | None = None,
            size: np.ndarray | None = None) -> None:
        """answers[k] [B, seq] and q_halt[k] [B]: the answer and halting logit after step k + 1;
        difficulty [B] and size [B]: the builder's rating and size of each puzzle, if it recorded them."""
        mask = labels != IGNORE_LABEL_ID
        counts = np.maximum(mask.sum(-1), 1)
        shortest = [maze_shortest_length(x) for x in inputs] if self.kind == "maze" else None
        right_per_step = []  # [B] bools: exactly right, or for mazes a valid shortest path
        for k, answer in enumerate(answers):
            right_tokens = mask & (answer == labels)
            exact = right_tokens.sum(-1) == mask.sum(-1)
            self.exact[k] += exact.sum()
            self.token[k] += (right_tokens.sum(-1) / counts).sum()
            if shortest is not None:
                exact = np.array([maze_path_is_shortest(x, a, d) for x, a, d in zip(inputs, answer, shortest)])
                self.valid_path[k] += exact.sum()
            right_per_step.append(exact)
        right = np.stack(right_per_step)  # [steps, B]
        q = np.stack(q_halt)  # [steps, B]
        positive = q > 0
        first = np.where(positive.any(0), positive.argmax(0) + 1, 0)
        self.halt_steps.extend(first.tolist())
        stop_index = np.where(first > 0, first, self.steps) - 1
        self.correct_at_halt += int(right[stop_index, np.arange(len(inputs))].sum())
        self.q_halt_right += int(((q[-1] >= 0) == right[-1]).sum())
        if difficulty is not None:
            _count(self.by_band, [difficulty_band(int(r)) for r in np.asarray(difficulty).tolist()], right[-1])
        if size is not None:
            _count(self.by_size, [int(w) for w in np.asarray(size).tolist()], right[-1])
        if self.arc is not None:
            for i in range(len(inputs)):
                self.arc.add(int(identifiers[i]), inputs[i], raw_labels[i], answers[-1][i], float(q[-1][i]))
        self.count += len(inputs)

    def figures(self) -> dict[str, Any]:
        n = max(self.count, 1)
        halts = np.array(self.halt_steps)
        stopped = halts[halts > 0]
        per_step = []
        for k in range(self.steps):
            row = {"step": k + 1, "exact_accuracy": float(self.exact[k] / n),
                   "token_accuracy": float(self.token[k] / n), "would_halt_here": int((halts == k + 1).sum())}
            if self.kind == "maze":
                row["valid_shortest_path"] = float(self.valid_path[k] / n)
            per_step.append({key: round(v, 6) if isinstance(v, float) else v for key, v in row.items()})
        figures: dict[str, Any] = {
            "puzzles": self.count,
            "steps": self.steps,
            "exact_accuracy": round(float(self.exact[-1] / n), 6),
            "token_accuracy": round(float(self.token[-1] / n), 6),
        }
        if self.kind == "maze":
            figures["valid_shortest_path"] = round(float(self.valid_path[-1] / n), 6)
        if self.arc is not None:
            figures.update({k: round(v, 6) if isinstance(v, float) else v for k, v in self.arc.scores().items()})
        figures["halting"] = {
            "mean_step": round(float(np.where(halts > 0, halts, self.steps).mean()), 3) if self.count else None,
            "median_step": float(np.median(stopped)) if len(stopped) else None,
            "never_halted": int((halts == 0).sum()),
            "accuracy_at_halt": round(self.correct_at_halt / n, 6),
            "q_halt_accuracy": round(self.q_halt_right / n, 6),
        }
        if self.by_band:
            figures["by_difficulty"] = [
                {"difficulty": f"{lo}" if lo == hi else f"{lo}-{hi}", "puzzles": n, "exact_accuracy": round(ok / n, 6)}
                for (lo, hi), (n, ok) in sorted(self.by_band.items())]
        if self.by_size:
            measure = "valid_shortest_path" if self.kind == "maze" else "exact_accuracy"
            figures["by_size"] = [{"size": f"{width}x{width}", "puzzles": n, measure: round(ok / n, 6)}
                                  for width, (n, ok) in sorted(self.by_size.items())]
        figures["per_step"] = per_step
        return figures


def _grids_of(kind: str, codec, inputs: np.ndarray, size: np.ndarray | None) -> list:
    """The puzzles as grids, for their views: a maze as wide as the builder made it (or as its cells reach)."""
    if kind != "maze":
        return [None] * len(inputs)
    field = maze_field(inputs.shape[1])
    if field is None:
        raise ValueError(f"{inputs.shape[1]} maze tokens do not fill a square field")
    grids = []
    for i, tokens in enumerate(inputs):
        if size is not None:
            side = int(size[i])
        else:
            cells = np.argwhere(tokens.reshape(field, field) != WALL)
            side = int(cells.max() + 1) if len(cells) else field
        grids.append(["#" * side] * side)
    return grids


def evaluate_model(model: TRM, split: PuzzleSplit, *, limit: int | None = None, batch_size: int = 128,
                   steps: int | None = None, progress: Callable[[int, int], None] | None = None,
                   halt: float | None = None, samples: int = 1, views: int = 1, seed: int = 0,
                   noise: float = DEFAULT_NOISE_SCALE, selection: str = "halt") -> dict[str, Any]:
    """Figures of `model` on `split` (see the module docstring); at most `limit` puzzles, in file order."""
    kind = model.config.kind
    if split.metadata.kind != kind:
        raise ValueError(f"the dataset {split.root} holds {split.metadata.kind} puzzles, the model is a {kind} model")
    if split.metadata.seq_len != model.config.seq_len:  # mazes on another field than the model's
        raise ValueError(f"the dataset {split.root} has {split.metadata.seq_len} positions a puzzle, the model "
                         f"{model.config.seq_len}; build the data with the model's --field")
    if split.metadata.num_puzzle_identifiers > model.config.num_puzzle_identifiers:
        raise ValueError(f"the dataset has {split.metadata.num_puzzle_identifiers} puzzle identifiers, the model "
                         f"knows {model.config.num_puzzle_identifiers}; was it trained on this dataset?")
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    check_test_time(kind, model.config.halt_max_steps, steps=steps, samples=samples, views=views, halt=halt,
                    noise=noise)
    total_steps = int(steps or model.config.halt_max_steps)
    codec = codec_for(kind, model.config.seq_len)
    steps_computed: list[int] = []
    grader = Grader(kind, total_steps, split.identifiers() if kind == "arc" else None)
    total = split.num_examples if limit is None else min(split.num_examples, limit)
    for inputs, raw_labels, identifiers, difficulty, size in ordered_examples(split, limit):
        for begin in range(0, len(inputs), batch_size):
            rows = slice(begin, begin + batch_size)
            x, y, ids = inputs[rows].astype(np.int64), raw_labels[rows], identifiers[rows].astype(np.int64)
            answers, q_halt = [], []
            computed = np.zeros(len(x), dtype=np.int64)  # steps each puzzle ran (fewer with --halt)
            grids = _grids_of(kind, codec, x, None if size is None else size[rows])
            for result in think_steps(model, kind, grids, x, steps=total_steps, samples=samples, views=views,
                                      seed=seed, indexes=range(begin, begin + len(x)), halt=halt, noise=noise,
                                      selection=selection, puzzle_ids=ids):
                answers.append(result.tokens)
                q_halt.append(result.q_halt_logit)
                computed[result.active] = result.step
            steps_computed.extend(computed.tolist())
            while len(answers) < total_steps:  # every puzzle halted early: its answers stand for the later steps
                answers.append(answers[-1])
                q_halt.append(q_halt[-1])
            grader.add(x, y, split.labels_for_loss(y), ids, answers, q_halt,
                       difficulty=None if difficulty is None else difficulty[rows],
                       size=None if size is None else size[rows])
            if progress is not None:
                progress(grader.count, total)
    figures = grader.figures()
    if halt is not None:
        figures["halt_threshold"] = halt
        figures["halting"]["steps_computed_mean"] = round(float(np.mean(steps_computed)), 3) if steps_computed else None
    if samples > 1 or views > 1:
        figures["test_time"] = {"samples": samples, "views": views, "seed": seed, "noise": noise, "select": selection}
    return {"kind": kind, "dataset": str(split.root), "split": split.split, **figures}


def evaluate_checkpoint(checkpoint: str, dataset: str, *, split: str = "test", limit: int | None = None,
                        batch_size: int = 128, steps: int | None = None, device: str = "cpu",
                        dtype: str | None = None, progress: Callable[[int, int], None] | None = None,
                        **test_time: Any) -> dict[str, Any]:
    model, config = load_checkpoint(checkpoint, device=device, dtype=dtype)
    figures = evaluate_model(model, load_split(dataset, split), limit=limit, batch_size=batch_size, steps=steps,
                             progress=progress, **test_time)
    return {"checkpoint": str(checkpoint), "dtype": str(model.dtype).removeprefix("torch."), **figures}


def record_evaluation(checkpoint: str | Path, figures: dict[str, Any]) -> Path:
    """Write `figures` into the checkpoint's provenance["evaluation"]; the tensors are written unchanged."""
    path = resolve_checkpoint_path(checkpoint)
    if not is_project_file(path):
        raise CheckpointError(f"{path} is a reference checkpoint; convert it first (python -m solver convert "
                              f"{path} OUT.safetensors) and evaluate the converted file to record figures")
    tensors, config, provenance = read_project(path)
    record = {k: v for k, v in figures.items() if k != "checkpoint"}
    record["evaluated"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    provenance["evaluation"] = record
    return write_project(tensors, config, provenance, path)


# ------------------------------------------------------------------------------------------- output


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def headline(figures: dict[str, Any]) -> str:
    """The figures that matter for the kind, in one line."""
    parts = [f"{figures['puzzles']} puzzles"]
    if figures.get("kind") == "arc":
        parts += [f"pass@1 {_pct(figures.get('pass@1'))}", f"pass@2 {_pct(figures.get('pass@2'))}"]
    if figures.get("kind") == "maze":
        parts.append(f"valid shortest path {_pct(figures.get('valid_shortest_path'))}")
    parts.append(f"exact {_pct(figures['exact_accuracy'])}")
    parts.append(f"token {_pct(figures['token_accuracy'])}")
    return ", ".join(parts)


def render_table(figures: dict[str, Any]) -> str:
    halting = figures["halting"]
    maze = figures.get("kind") == "maze"
    lines = [
        f"checkpoint   {figures.get('checkpoint', '-')}",
        f"dataset      {figures['dataset']} ({figures['split']} split, {figures['kind']})",
        f"result       {headline(figures)} after {figures['steps']} steps",
        f"halting      would stop at step {halting['mean_step']} on average (median "
        f"{halting['median_step'] if halting['median_step'] is not None else 'n/a'}), "
        f"never: {halting['never_halted']}; accuracy where it stops {_pct(halting['accuracy_at_halt'])}; "
        f"halting logit right {_pct(halting['q_halt_accuracy'])}",
        "",
        "step   exact    token" + ("   valid path" if maze else "") + "   would halt here",
    ]
    for row in figures["per_step"]:
        lines.append(f"{row['step']:>4}  {_pct(row['exact_accuracy']):>6}  {_pct(row['token_accuracy']):>6}"
                     + (f"  {_pct(row['valid_shortest_path']):>11}" if maze else "")
                     + f"  {row['would_halt_here']:>16}")
    if figures.get("by_difficulty"):
        lines += ["", "difficulty   puzzles    exact"]
        lines += [f"{band['difficulty']:>10}  {band['puzzles']:>8}  {_pct(band['exact_accuracy']):>7}"
                  for band in figures["by_difficulty"]]
    if figures.get("by_size"):
        measure = "valid_shortest_path" if maze else "exact_accuracy"
        lines += ["", "size     puzzles    " + ("valid path" if maze else "exact")]
        lines += [f"{row['size']:>5}  {row['puzzles']:>8}  {_pct(row[measure]):>10}" for row in figures["by_size"]]
    if figures.get("by_family"):
        lines += ["", "family                 tasks   pass@2"]
        lines += [f"{row['family']:<20}  {row['tasks']:>6}  {_pct(row['pass@2']):>7}" for row in figures["by_family"]]
    return "\n".join(lines)
