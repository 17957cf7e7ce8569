"""A training run's curves as a PNG, from the metrics.jsonl `python -m solver train` writes beside its checkpoints.

Four panels over updates: the loss (answer and halting parts and their weighted sum), the training
accuracies (token, exact, halting head), where the halting head stops (mean supervision steps), and the
learning rate; held-out evaluations are drawn as points on the accuracy panel. matplotlib draws it, off
screen (its Agg backend), so it runs on a server without a display.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# What solver/train.py writes beside its checkpoints; named here, where no torch is imported, so that the
# web process can read a run's metrics too.
METRICS_FILE = "metrics.jsonl"


class MetricsError(ValueError):
    """No metrics to draw, or a file that is not what train writes; the message says which file."""


def read_metrics(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(logged windows, held-out evaluations) of a metrics.jsonl file, or of the run folder holding it."""
    path = path / METRICS_FILE if path.is_dir() else path
    if not path.is_file():
        raise MetricsError(f"{path} does not exist: train writes it beside its checkpoints (runs from before it did have none)")
    windows: list[dict[str, Any]] = []
    held_out: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            step = int(record["step"])
        except (ValueError, KeyError, TypeError):
            raise MetricsError(f"{path}:{number} is not a metrics line (a JSON object with a step)") from None
        (held_out if "held_out" in record else windows).append({**record, "step": step})
    if not windows and not held_out:
        raise MetricsError(f"{path} holds no metrics yet")
    return windows, held_out


def plot_metrics(run: Path, output: Path | None = None) -> Path:
    """Write the run's curves to `output` (default RUN/metrics.png); returns the PNG's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    windows, held_out = read_metrics(run)
    output = output or (run if run.is_dir() else run.parent) / "metrics.png"
    steps = [w["step"] for w in windows]

    def series(name: str) -> list[float]:
        return [float(w.get(name, float("nan"))) for w in windows]

    figure, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    loss, accuracy, halting, rate = axes.flat
    loss.plot(steps, series("loss"), label="loss (what is minimised)")
    loss.plot(steps, series("lm_loss"), label="answer (lm_loss)", alpha=0.7)
    loss.plot(steps, series("q_halt_loss"), label="halting (q_halt_loss)", alpha=0.7)
    loss.set_yscale("log")
    loss.set_title("loss per puzzle")
    for name, label in (("accuracy", "tokens"), ("exact_accuracy", "exact"), ("q_halt_accuracy", "halting head")):
        accuracy.plot(steps, series(name), label=f"train: {label}")
    for name, marker in (("exact_accuracy", "o"), ("valid_shortest_path", "s"), ("pass@2", "^")):
        points = [(h["step"], h["held_out"][name]) for h in held_out if name in h["held_out"]]
        if points:
            accuracy.plot(*zip(*points), marker=marker, linestyle="none", label=f"held out: {name}")
    accuracy.set_ylim(0, 1)
    accuracy.set_title("accuracy")
    halting.plot(steps, series("steps"), label="mean steps before halting")
    halting.set_title("halting")
    rate.plot(steps, series("lr"), label="learning rate")
    rate.set_title("learning rate")
    for axis in axes.flat:
        axis.legend(fontsize=8)
        axis.grid(alpha=0.3)
    for axis in axes[1]:
        axis.set_xlabel("update")
    figure.suptitle(f"training run {run if run.is_dir() else run.parent}", fontsize=10)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100)
    plt.close(figure)
    return output
