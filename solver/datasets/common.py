"""The reference's on-disk dataset layout, written by every builder, and the dihedral symmetries.

    DIR/<split>/dataset.json                 metadata, keys in the reference's order
    DIR/<split>/all__inputs.npy              uint8 [examples, seq_len] token ids
    DIR/<split>/all__labels.npy              uint8 [examples, seq_len] token ids
    DIR/<split>/all__puzzle_identifiers.npy  int32 [puzzles] puzzle-embedding row of each puzzle
    DIR/<split>/all__puzzle_indices.npy      int32 [puzzles + 1] first example of each puzzle
    DIR/<split>/all__group_indices.npy       int32 [groups + 1] first puzzle of each group
    DIR/identifiers.json                     name of each puzzle identifier ("<blank>" first)

A group is one puzzle with its augmentations; the trainer samples one puzzle per group and epoch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

SET_NAME = "all"  # the reference's builders write one set per split, named "all"

# Index: transform id; value: the id of its inverse (rotations by 90 and 270 degrees undo each other).
DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)


def dihedral_transform(grid: np.ndarray, tid: int) -> np.ndarray:
    """One of the 8 symmetries of the square, numbered as the reference numbers them."""
    if tid == 0:
        return grid
    if tid in (1, 2, 3):
        return np.rot90(grid, k=tid)
    if tid == 4:
        return np.fliplr(grid)
    if tid == 5:
        return np.flipud(grid)
    if tid == 6:
        return grid.T
    if tid == 7:
        return np.fliplr(np.rot90(grid, k=1))
    raise ValueError(f"dihedral transform id {tid} is out of range; use 0-7")


def inverse_dihedral_transform(grid: np.ndarray, tid: int) -> np.ndarray:
    return dihedral_transform(grid, DIHEDRAL_INVERSE[tid])


class SplitArrays:
    """The arrays of one split, filled group by group.

    With `directory` and `capacity` (the number of examples, known in advance) inputs and labels are
    written straight into memory-mapped .npy files there, so a split larger than memory can be built.
    """

    def __init__(self, seq_len: int, directory: Path | None = None, capacity: int | None = None):
        self.seq_len = seq_len
        self.directory = directory
        self.num_examples = 0
        self.puzzle_identifiers: list[int] = []
        self.puzzle_indices = [0]
        self.group_indices = [0]
        # np.memmap of .npy files written in place when the size is known beforehand, else lists of arrays
        # (Any: the two always take the same form, which a union type cannot say).
        self.inputs: Any
        self.labels: Any
        if directory is not None and capacity is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self.inputs = np.lib.format.open_memmap(directory / f"{SET_NAME}__inputs.npy", "w+", np.uint8,
                                                    (capacity, seq_len))
            self.labels = np.lib.format.open_memmap(directory / f"{SET_NAME}__labels.npy", "w+", np.uint8,
                                                    (capacity, seq_len))
        else:
            self.inputs, self.labels = [], []

    def add_puzzle(self, identifier: int, examples: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """A puzzle and its examples (input and label token arrays of seq_len each)."""
        for inp, label in examples:
            if isinstance(self.inputs, list):
                self.inputs.append(np.asarray(inp, dtype=np.uint8).reshape(self.seq_len))
                self.labels.append(np.asarray(label, dtype=np.uint8).reshape(self.seq_len))
            else:
                self.inputs[self.num_examples] = inp
                self.labels[self.num_examples] = label
            self.num_examples += 1
        self.puzzle_indices.append(self.num_examples)
        self.puzzle_identifiers.append(identifier)

    def end_group(self) -> None:
        """Closes the group of the puzzles added since the last call."""
        self.group_indices.append(len(self.puzzle_identifiers))

    @property
    def num_puzzles(self) -> int:
        return len(self.puzzle_identifiers)

    @property
    def num_groups(self) -> int:
        return len(self.group_indices) - 1

    def save(self, directory: Path, *, vocab_size: int, num_puzzle_identifiers: int,
             extra: dict[str, np.ndarray] | None = None) -> dict:
        """Writes the arrays and dataset.json into `directory`; returns the metadata.

        `extra` arrays are saved beside the reference's (as all__<name>.npy); readers ignore them.
        """
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {
            "puzzle_identifiers": np.array(self.puzzle_identifiers, dtype=np.int32),
            "puzzle_indices": np.array(self.puzzle_indices, dtype=np.int32),
            "group_indices": np.array(self.group_indices, dtype=np.int32),
            **(extra or {}),
        }
        if isinstance(self.inputs, list):
            empty = np.zeros((0, self.seq_len), np.uint8)
            arrays["inputs"] = np.stack(self.inputs) if self.inputs else empty
            arrays["labels"] = np.stack(self.labels) if self.labels else empty
        else:
            if self.num_examples != len(self.inputs) or directory != self.directory:
                raise ValueError(f"{len(self.inputs)} examples were announced for {self.directory}, "
                                 f"{self.num_examples} added")
            self.inputs.flush()
            self.labels.flush()
        for name, array in arrays.items():
            np.save(directory / f"{SET_NAME}__{name}.npy", array)
        metadata = {
            "pad_id": 0,
            "ignore_label_id": 0,
            "blank_identifier_id": 0,
            "vocab_size": vocab_size,
            "seq_len": self.seq_len,
            "num_puzzle_identifiers": num_puzzle_identifiers,
            "total_groups": self.num_groups,
            "mean_puzzle_examples": self.num_examples / self.num_puzzles if self.num_puzzles else 0.0,
            "total_puzzles": self.num_puzzles,
            "sets": [SET_NAME],
        }
        (directory / "dataset.json").write_text(json.dumps(metadata))
        return metadata


def write_identifiers(output_dir: Path, names: Sequence[str]) -> None:
    """DIR/identifiers.json: the name of each puzzle identifier, index 0 being "<blank>"."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "identifiers.json").write_text(json.dumps(list(names)))
