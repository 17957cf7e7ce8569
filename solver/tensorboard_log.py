"""TensorBoard event files beside a run's metrics.jsonl, for people who watch training in TensorBoard.

Optional: where the `tensorboard` package is not installed, nothing is written and nothing fails (metrics.jsonl
and `python -m solver plot-metrics` carry the same figures). `tensorboard --logdir RUN/tensorboard` shows them.
"""

import importlib.util
from numbers import Real
from pathlib import Path
from typing import Any

EVENTS_DIR = "tensorboard"


def available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """A metrics.jsonl record as TensorBoard tags: `train/loss`, `train/accuracy`, ... for a logged window,
    `held_out/<figure>` for a held-out evaluation's headline numbers; the step is the x axis, not a tag."""
    tags: dict[str, float] = {}
    for key, value in record.items():
        if key == "step":
            continue
        if isinstance(value, dict):
            tags.update({f"{key}/{name}": float(v) for name, v in value.items()
                         if isinstance(v, Real) and not isinstance(v, bool)})
        elif isinstance(value, Real) and not isinstance(value, bool):
            tags[f"train/{key}"] = float(value)
    return tags


class TensorBoardLog:
    """Writes each record as scalars at its step, to RUN/tensorboard/; the writer opens on the first record.

    A resumed run opens it with `purge_step`, so that TensorBoard drops what a stopped session wrote past its
    last save (as metrics.jsonl drops those lines) instead of drawing those updates twice."""

    def __init__(self, run_dir: Path):
        self.directory = run_dir / EVENTS_DIR
        self.purge_step: int | None = None
        self._writer: Any = None
        self.enabled = available()

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.directory), purge_step=self.purge_step)
        for tag, value in scalars(record).items():
            self._writer.add_scalar(tag, value, global_step=int(record["step"]))
        self._writer.flush()  # a run may be stopped at any time: what was logged is on disk

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
