"""Reading a puzzle dataset in the reference's on-disk layout, and drawing training batches from it.

Layout (what the reference builders and `python -m solver build-dataset` write):

    DIR/train/dataset.json, DIR/test/dataset.json     metadata (seq_len, vocab_size, pad_id, ignore_label_id,
                                                       blank_identifier_id, num_puzzle_identifiers, sets, ...)
    DIR/<split>/<set>__inputs.npy, __labels.npy       [examples, seq_len] token ids
    DIR/<split>/<set>__puzzle_identifiers.npy          [puzzles] embedding row of each puzzle
    DIR/<split>/<set>__puzzle_indices.npy              [puzzles + 1] first example of each puzzle
    DIR/<split>/<set>__group_indices.npy               [groups + 1] first puzzle of each group
    DIR/identifiers.json                               (ARC) name of each puzzle identifier

A group is a puzzle with its augmentations; a puzzle has one or more examples (ARC: its demonstration
pairs). Training batches follow the reference sampler: each epoch visits the groups in a random order,
takes one random puzzle of each group and its examples in random order, fills batches of exactly
`global_batch_size` examples and drops the incomplete last one. Labels equal to the dataset's
`ignore_label_id` become IGNORE_LABEL_ID.

Unlike the reference, every random choice of a round of epochs comes from one generator seeded by (seed,
round), so a round's batches are a pure function of its number and a run can resume at any batch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from solver.config import KIND_SHAPES, kind_of_shape
from solver.losses import IGNORE_LABEL_ID

FIELDS = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")


class DatasetError(ValueError):
    """A dataset directory that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class DatasetMetadata:
    seq_len: int
    vocab_size: int
    pad_id: int
    ignore_label_id: int | None
    blank_identifier_id: int
    num_puzzle_identifiers: int
    total_groups: int
    mean_puzzle_examples: float
    total_puzzles: int
    sets: tuple[str, ...]

    @property
    def kind(self) -> str:
        """Puzzle kind told by the vocabulary (the codecs fix it), checked against the sequence length."""
        kind = kind_of_shape(self.vocab_size, self.seq_len)
        if kind is not None:
            return kind
        known = ", ".join(f"{k} ({s['seq_len']} positions, {s['vocab_size']} tokens)" for k, s in KIND_SHAPES.items())
        raise DatasetError(f"a dataset with {self.seq_len} positions and {self.vocab_size} tokens is no known "
                           f"puzzle kind; known: {known}, or a maze or ARC task on a smaller square field")


@dataclass
class PuzzleSet:
    """One named set of a split; inputs and labels stay memory-mapped."""

    name: str
    inputs: np.ndarray
    labels: np.ndarray
    puzzle_identifiers: np.ndarray
    puzzle_indices: np.ndarray
    group_indices: np.ndarray
    difficulty: np.ndarray | None = None  # per example, when the builder rated them (Sudoku: guesses needed)
    size: np.ndarray | None = None  # per example, when the builder recorded it (mazes: the maze's width)

    @property
    def num_examples(self) -> int:
        return int(self.inputs.shape[0])

    def example_identifiers(self) -> np.ndarray:
        """The puzzle identifier of every example (puzzles own contiguous example ranges)."""
        return np.repeat(self.puzzle_identifiers, np.diff(self.puzzle_indices))


@dataclass
class PuzzleSplit:
    root: Path
    split: str
    metadata: DatasetMetadata
    sets: list[PuzzleSet]

    @property
    def num_examples(self) -> int:
        return sum(s.num_examples for s in self.sets)

    def identifiers(self) -> list[str] | None:
        """Names of the puzzle identifiers (DIR/identifiers.json, written for ARC), or None."""
        path = self.root / "identifiers.json"
        if not path.exists():
            return None
        try:
            names = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DatasetError(f"cannot read {path}: {e}") from None
        if not isinstance(names, list):
            raise DatasetError(f"{path} must hold a JSON list of identifier names")
        return names

    def labels_for_loss(self, labels: np.ndarray) -> np.ndarray:
        """int64 labels with the dataset's ignore label replaced by IGNORE_LABEL_ID."""
        out = np.asarray(labels).astype(np.int64)
        if self.metadata.ignore_label_id is not None:
            out[out == self.metadata.ignore_label_id] = IGNORE_LABEL_ID
        return out


def read_metadata(path: Path) -> DatasetMetadata:
    try:
        raw = json.loads(path.read_text())
        return DatasetMetadata(
            seq_len=int(raw["seq_len"]), vocab_size=int(raw["vocab_size"]), pad_id=int(raw["pad_id"]),
            ignore_label_id=None if raw.get("ignore_label_id") is None else int(raw["ignore_label_id"]),
            blank_identifier_id=int(raw["blank_identifier_id"]),
            num_puzzle_identifiers=int(raw["num_puzzle_identifiers"]), total_groups=int(raw["total_groups"]),
            mean_puzzle_examples=float(raw["mean_puzzle_examples"]), total_puzzles=int(raw["total_puzzles"]),
            sets=tuple(raw["sets"]))
    except FileNotFoundError:
        raise DatasetError(f"{path} does not exist; is {path.parent.parent} a dataset directory "
                           "(with train/ and test/ as build-dataset writes them)?") from None
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"cannot read dataset metadata {path}: {type(e).__name__}: {e}") from None


def load_split(root: str | Path, split: str = "train") -> PuzzleSplit:
    """Metadata and arrays of DIR/<split>, checked for consistent shapes."""
    root = Path(root)
    directory = root / split
    metadata = read_metadata(directory / "dataset.json")
    sets = []
    for name in metadata.sets:
        arrays = {}
        for field in FIELDS:
            path = directory / f"{name}__{field}.npy"
            if not path.exists():
                raise DatasetError(f"{path} is missing")
            arrays[field] = np.load(path, mmap_mode="r" if field in ("inputs", "labels") else None)
        optional = {field: np.load(path) if (path := directory / f"{name}__{field}.npy").exists() else None
                    for field in ("difficulty", "size")}
        puzzle_set = PuzzleSet(name=name, **arrays, difficulty=optional["difficulty"], size=optional["size"])
        n = puzzle_set.num_examples
        where = f"{directory} set {name!r}"
        if puzzle_set.inputs.shape != (n, metadata.seq_len) or puzzle_set.labels.shape != (n, metadata.seq_len):
            raise DatasetError(f"{where}: inputs {list(puzzle_set.inputs.shape)} and labels "
                               f"{list(puzzle_set.labels.shape)} must both be [examples, {metadata.seq_len}]")
        puzzles = len(puzzle_set.puzzle_identifiers)
        if puzzle_set.puzzle_indices[-1] != n or len(puzzle_set.puzzle_indices) != puzzles + 1:
            raise DatasetError(f"{where}: puzzle_indices must have one entry per puzzle plus one, ending at {n}")
        if puzzle_set.group_indices[-1] != len(puzzle_set.puzzle_identifiers):
            raise DatasetError(f"{where}: group_indices must end at the number of puzzles")
        sets.append(puzzle_set)
    return PuzzleSplit(root=root, split=split, metadata=metadata, sets=sets)


# Epochs are drawn in rounds of several when one epoch holds few batches, as the reference concatenates the
# epochs between two evaluations: only the last incomplete batch of a round is dropped.
BATCHES_PER_ROUND = 16


@dataclass(frozen=True)
class BatchPosition:
    """Where the training stream is: batch `batch` of set `set_index` in round `round` (all 0-based)."""

    round: int = 0
    set_index: int = 0
    batch: int = 0


def round_batches(puzzle_set: PuzzleSet, batch_size: int, seed: int, epochs: int = 1
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(example indices, puzzle indices) of every full batch of a round of `epochs` epochs of one set."""
    rng = np.random.Generator(np.random.Philox(seed))
    groups = puzzle_set.group_indices
    starts = puzzle_set.puzzle_indices
    order = np.concatenate([rng.permutation(len(groups) - 1) for _ in range(epochs)])
    batches, examples, puzzles, size = [], [], [], 0
    for group in order:
        puzzle = int(rng.integers(groups[group], groups[group + 1]))
        count = int(starts[puzzle + 1] - starts[puzzle])
        take = min(count, batch_size - size)
        examples.append(starts[puzzle] + rng.choice(count, take, replace=False))
        puzzles.append(np.full(take, puzzle))
        size += take
        if size == batch_size:
            batches.append((np.concatenate(examples), np.concatenate(puzzles)))
            examples, puzzles, size = [], [], 0
    return batches


def train_batches(split: PuzzleSplit, *, global_batch_size: int, seed: int, start: BatchPosition = BatchPosition(),
                  rank: int = 0, world_size: int = 1) -> Iterator[tuple[BatchPosition, dict[str, torch.Tensor]]]:
    """Endless training batches from `start`, each with the position of the batch after it (to resume from).

    Every rank draws the same global batch and keeps its own slice of global_batch_size / world_size.
    """
    if global_batch_size % world_size:
        raise ValueError(f"global_batch_size {global_batch_size} is not divisible by the {world_size} processes")
    local = global_batch_size // world_size
    number_of_round, set_index, skip = start.round, start.set_index, start.batch
    sets_without_batch = 0
    while True:
        if set_index >= len(split.sets):
            number_of_round, set_index = number_of_round + 1, 0
        puzzle_set = split.sets[set_index]
        per_epoch = max(1, len(puzzle_set.group_indices) - 1) * split.metadata.mean_puzzle_examples
        epochs = max(1, math.ceil(BATCHES_PER_ROUND * global_batch_size / per_epoch))
        batches = round_batches(puzzle_set, global_batch_size, epochs=epochs,
                                seed=seed + number_of_round * len(split.sets) + set_index + 1)
        sets_without_batch = 0 if batches else sets_without_batch + 1
        if sets_without_batch > len(split.sets):
            raise DatasetError(f"{split.root / split.split}: it has no puzzle groups to train on")
        for number in range(skip, len(batches)):
            examples, puzzles = batches[number]
            examples = examples[rank * local:(rank + 1) * local]
            puzzles = puzzles[rank * local:(rank + 1) * local]
            order = np.argsort(examples, kind="stable")  # memory-mapped reads go faster in file order
            batch = {
                "inputs": torch.from_numpy(np.asarray(puzzle_set.inputs[examples[order]], dtype=np.int64)),
                "labels": torch.from_numpy(split.labels_for_loss(puzzle_set.labels[examples[order]])),
                "puzzle_identifiers": torch.from_numpy(puzzle_set.puzzle_identifiers[puzzles[order]].astype(np.int64)),
            }
            yield BatchPosition(number_of_round, set_index, number + 1), batch
        skip = 0
        set_index += 1


def batches_per_epoch(split: PuzzleSplit, global_batch_size: int) -> float:
    """Updates per epoch as the reference counts them (one puzzle per group, its mean number of examples)."""
    return split.metadata.total_groups * split.metadata.mean_puzzle_examples / global_batch_size


def ordered_examples(split: PuzzleSplit, limit: int | None = None
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """(inputs, raw labels, puzzle identifiers, difficulty or None, size or None) of every example in file
    order, in chunks, at most `limit` examples in all (for evaluation)."""
    remaining = split.num_examples if limit is None else max(0, int(limit))
    chunk = 4096
    for puzzle_set in split.sets:
        identifiers = puzzle_set.example_identifiers()
        for begin in range(0, puzzle_set.num_examples, chunk):
            if remaining <= 0:
                return
            end = min(begin + chunk, puzzle_set.num_examples, begin + remaining)
            remaining -= end - begin
            difficulty = None if puzzle_set.difficulty is None else puzzle_set.difficulty[begin:end]
            size = None if puzzle_set.size is None else puzzle_set.size[begin:end]
            yield (np.asarray(puzzle_set.inputs[begin:end]), np.asarray(puzzle_set.labels[begin:end]),
                   identifiers[begin:end], difficulty, size)
