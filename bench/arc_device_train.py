"""Train the ARC curriculum model on a lent GPU inside one call, and bring the weights back.

    python bench/arc_device_train.py --output "$OUT"                 # on the device: ~7 min of training
    python bench/arc_device_train.py --device cpu --seconds 30 --output /tmp/arc-device   # a dry run here

A task is lent at most 15 minutes of device time, one command at most 10, and a file comes back only under
16 MiB. So this (1) builds the curriculum of solver/demo/recipes/arc-synth-device.yaml and probes the
device's updates a second with a short run, (2) sets max_steps so that the learning-rate schedule ends
inside --seconds, trains, and stops the run with SIGTERM at a hard deadline if the probe was optimistic (the
trainer saves on SIGTERM), and (3) writes the checkpoint to --output in parts under 15 MiB with the run's
metrics, config and a summary. Put the parts together here with
`cat OUT/model.safetensors.part* > model.safetensors`, then measure it on this CPU:
`python bench/arc_fitting.py --checkpoint model.safetensors --drawn bench/arc_drawn`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
RECIPE = PROJECT_DIR / "solver" / "demo" / "recipes" / "arc-synth-device.yaml"
PART_BYTES = 15 * 1024 * 1024  # a file over 16 MiB does not come back from the device machine
PROBE_UPDATES = 40
# The probe's rate is measured on its last logging window; the real run also evaluates and saves.
RATE_MARGIN = 0.85


def demo_train(work_dir: Path, args: argparse.Namespace, *overrides: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "solver", "demo-train", "arc", *overrides, "--recipe", str(args.recipe),
               "--work-dir", str(work_dir), "--device", args.device]
    print("+ " + " ".join(command), flush=True)
    return subprocess.Popen(command, cwd=PROJECT_DIR)


def last_rate(metrics: Path) -> float:
    rates = [record["updates_per_second"] for record in map(json.loads, metrics.read_text().splitlines())
             if "updates_per_second" in record]
    if not rates:
        raise SystemExit(f"the probe logged no speed in {metrics}")
    return rates[-1]


def probe_rate(args: argparse.Namespace) -> float:
    """Updates a second of the recipe's model on this device, from a short run of its own."""
    probe = demo_train(args.work_dir / "probe", args, f"max_steps={PROBE_UPDATES}", "log_every=10",
                       "lr_warmup_steps=10", "eval_every=100000", "eval_limit=32", "checkpoint_every=100000")
    if probe.wait() != 0:
        raise SystemExit(f"the probe run failed (exit {probe.returncode})")
    return last_rate(args.work_dir / "probe" / "run" / "metrics.jsonl")


def train_until(args: argparse.Namespace, steps: int) -> int:
    """Train `steps` updates; past the deadline, SIGTERM (the trainer saves, then exits)."""
    run = demo_train(args.work_dir / "main", args, f"max_steps={steps}")
    # The schedule is sized for --seconds; the data build, evaluations and the last save come on top, and the
    # whole call must end inside the device's 10 minutes (the defaults: ~40 s probe + 420 s + at most 90 s).
    deadline = args.seconds + 90
    try:
        return run.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        print(f"past the deadline ({deadline:.0f} s): stopping the run, which saves first", flush=True)
        run.send_signal(signal.SIGTERM)
        return run.wait()


def write_parts(model: Path, output: Path) -> list[str]:
    data, names = model.read_bytes(), []
    for index, start in enumerate(range(0, len(data), PART_BYTES)):
        name = f"{model.name}.part{index}"
        (output / name).write_bytes(data[start:start + PART_BYTES])
        names.append(name)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=Path(os.environ.get("OUT", "var/arc-device")),
                        help="where the checkpoint parts, metrics and summary go (on the device: $OUT)")
    parser.add_argument("--seconds", type=float, default=420, help="training time to size the schedule for")
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a dry run")
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/arc-device"))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    rate = probe_rate(args)
    steps = max(PROBE_UPDATES, int(rate * args.seconds * RATE_MARGIN))
    print(f"probe: {rate:.2f} updates/s on {args.device}: training {steps} updates", flush=True)
    exit_code = train_until(args, steps)
    run_dir = args.work_dir / "main" / "run"
    model = run_dir / "model.safetensors"
    if not model.is_file():
        raise SystemExit(f"the run saved no checkpoint (exit {exit_code})")

    metrics = run_dir / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    summary = {"device": args.device, "probe_updates_per_second": rate, "planned_updates": steps,
               "trained_updates": max((r["step"] for r in records if "loss" in r), default=0),
               "exit_code": exit_code, "seconds": round(time.monotonic() - started, 1),
               "held_out": [r["held_out"] | {"step": r["step"]} for r in records if "held_out" in r],
               "parts": write_parts(model, args.output)}
    for name in ("metrics.jsonl", "config.yaml"):
        (args.output / name).write_bytes((run_dir / name).read_bytes())
    (args.output / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
