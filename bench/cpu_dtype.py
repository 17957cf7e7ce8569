"""bf16 against fp32 on this CPU: do the answers agree, and how much faster is it?

    python bench/cpu_dtype.py                     # 200 held-out puzzles per demo, published sizes at batch 1 and 8
    python bench/cpu_dtype.py --puzzles 60 --threads 1
    python bench/cpu_dtype.py --checkpoint sudoku=RUN/model.safetensors --only sudoku --no-speed  # another model

Agreement: the shipped demos (Sudoku; mazes with loops, what *Random maze* makes) solve fresh held-out puzzles
(seeded, as bench/test_time.py builds them) once in fp32 and once in bf16, every trained step; per step, the
share of answer tokens that are the same in both, then the share of puzzles whose final answer is the same,
and each dtype's accuracy. The demos were trained in fp32, so this is bf16 at its least favoured: a checkpoint
trained in bf16 (as the published ones are) computes in the arithmetic it learned; `--checkpoint KIND=PATH`
measures such a one on the same puzzles instead of the demo.

Speed: seconds per supervision step of the published sizes (random weights: speed does not depend on them)
and of the demos, fp32 then bf16 in the same run, best of --repeats; the ratio is fp32 time over bf16 time.
Prints whether the CPU has native bf16 (solver.devices.cpu_has_native_bf16) and what `auto` would choose.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from solver.checkpoint import load_checkpoint  # noqa: E402
from solver.config import TRMConfig  # noqa: E402
from solver.data import load_split, ordered_examples  # noqa: E402
from solver.devices import compute_dtype, cpu_has_native_bf16  # noqa: E402
from solver.evaluate import maze_path_is_shortest  # noqa: E402
from solver.inference import solve_steps  # noqa: E402
from solver.model import TRM, init_weights  # noqa: E402
from test_time import SETS, build  # noqa: E402  (bench/test_time.py: the same held-out sets)

DEMO_SETS = {"sudoku": "all bands", "maze": "loops"}
PUBLISHED = {"Sudoku mlp_t (seq 81)": "sudoku", "maze/ARC attention (seq 900)": "maze"}


def run(model: TRM, inputs: np.ndarray, batch: int) -> list[np.ndarray]:
    """Answer tokens [P, seq] after each step."""
    per_step: list[list[np.ndarray]] = []
    for start in range(0, len(inputs), batch):
        for k, result in enumerate(solve_steps(model, inputs[start:start + batch])):
            if k == len(per_step):
                per_step.append([])
            per_step[k].append(result.tokens)
    return [np.concatenate(chunks) for chunks in per_step]


def right(kind: str, inputs: np.ndarray, labels: np.ndarray, answers: np.ndarray) -> float:
    if kind == "maze":
        return float(np.mean([maze_path_is_shortest(x, a) for x, a in zip(inputs, answers)]))
    return float(np.mean((answers == labels).all(axis=1)))


def agreement(kind: str, puzzles: int, seed: int, root: Path, checkpoint: str) -> dict:
    name = DEMO_SETS[kind]
    options = dict(SETS[kind])[name]
    split = load_split(build(kind, name, options, puzzles, seed, root), "test")
    chunks = list(ordered_examples(split))
    inputs, labels = np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
    fp32, _ = load_checkpoint(checkpoint, dtype="float32")
    bf16, config = load_checkpoint(checkpoint, dtype="bfloat16")
    exact, rounded = run(fp32, inputs, 64), run(bf16, inputs, 64)
    return {
        "kind": kind, "checkpoint": checkpoint, "trained_in": config.forward_dtype, "set": name, "puzzles": len(inputs),
        "token_agreement_per_step": [round(float((a == b).mean()), 5) for a, b in zip(exact, rounded)],
        "same_final_answer": round(float((exact[-1] == rounded[-1]).all(axis=1).mean()), 4),
        "accuracy_fp32": round(right(kind, inputs, labels, exact[-1]), 4),
        "accuracy_bf16": round(right(kind, inputs, labels, rounded[-1]), 4),
    }


def seconds_per_step(model: TRM, batch: int, repeats: int) -> float:
    inputs = np.ones((batch, model.config.seq_len), dtype=np.int64)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _result in solve_steps(model, inputs, steps=2):
            pass
        best = min(best, (time.perf_counter() - started) / 2)
    return best


def speed(batches: list[int], repeats: int) -> list[dict]:
    rows = []
    models = {label: TRMConfig.for_kind(kind, forward_dtype="float32") for label, kind in PUBLISHED.items()}
    for label, config in models.items():
        weights = init_weights(TRM(config), torch.Generator().manual_seed(0)).eval()
        for batch in batches:
            fp32 = seconds_per_step(weights.float(), batch, repeats)
            bf16 = seconds_per_step(weights.to(torch.bfloat16), batch, repeats)
            rows.append({"model": label, "batch": batch, "fp32_s": round(fp32, 4), "bf16_s": round(bf16, 4),
                         "speedup": round(fp32 / bf16, 2)})
            print(f"{label:30} batch {batch:3}: fp32 {fp32:7.3f} s/step, bf16 {bf16:7.3f} s/step, "
                  f"bf16 {fp32 / bf16:.2f}x as fast", flush=True)
    for kind in DEMO_SETS:
        demo, _ = load_checkpoint(f"demo:{kind}", dtype="float32")
        fp32 = seconds_per_step(demo, 8, repeats)
        bf16 = seconds_per_step(demo.to(torch.bfloat16), 8, repeats)
        rows.append({"model": f"demo:{kind}", "batch": 8, "fp32_s": round(fp32, 4), "bf16_s": round(bf16, 4),
                     "speedup": round(fp32 / bf16, 2)})
        print(f"{'demo:' + kind:30} batch   8: fp32 {fp32:7.3f} s/step, bf16 {bf16:7.3f} s/step, "
              f"bf16 {fp32 / bf16:.2f}x as fast", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--puzzles", type=int, default=200, help="held-out puzzles per demo")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="KIND=PATH",
                        help="measure the agreement of this checkpoint instead of demo:KIND")
    parser.add_argument("--only", choices=list(DEMO_SETS), help="measure the agreement of one kind only")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed part")
    parser.add_argument("--output", type=Path, default=Path("var/bench/cpu_dtype.json"))
    args = parser.parse_args()
    checkpoints = {kind: f"demo:{kind}" for kind in DEMO_SETS}
    for item in args.checkpoint:
        kind, _, path = item.partition("=")
        if kind not in DEMO_SETS or not path:
            parser.error(f"--checkpoint {item!r}: use KIND=PATH with KIND one of {', '.join(DEMO_SETS)}")
        checkpoints[kind] = path
    if args.threads:
        torch.set_num_threads(args.threads)
    native = cpu_has_native_bf16()
    auto = compute_dtype("auto", device=torch.device("cpu"), trained="bfloat16")
    print(f"native bf16 on this CPU: {native}; `auto` for a bf16-trained checkpoint: {auto}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    results: dict = {"native_bf16": native, "auto_for_bf16_checkpoint": str(auto), "agreement": [], "speed": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in [args.only] if args.only else DEMO_SETS:
            row = agreement(kind, args.puzzles, args.seed, Path(tmp), checkpoints[kind])
            results["agreement"].append(row)
            print(f"{kind:6} {row['checkpoint']} (trained in {row['trained_in']}), {row['set']}: tokens agree per step "
                  f"{row['token_agreement_per_step']}; same final answer "
                  f"{100 * row['same_final_answer']:.1f}%; accuracy fp32 {100 * row['accuracy_fp32']:.1f}%, "
                  f"bf16 {100 * row['accuracy_bf16']:.1f}%", flush=True)
    if not args.no_speed:
        results["speed"] = speed(args.batches, args.repeats)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
