"""Time per TRM supervision step at the published sizes, against this machine's matmul rate.

    python bench/solver_speed.py            # full: every size at batch 1, 8, 32 and 128 (long on 2 cores)
    python bench/solver_speed.py --quick    # shorter: H cycles timed and scaled (batch 128 maze alone takes minutes)
    python bench/solver_speed.py --json     # also print the figures as one JSON object
    python bench/solver_speed.py --quick --no-chunks --batches 32   # the batch-splitting optimisation off
    python bench/solver_speed.py --quick --plain   # also a plain, reference-style TRM (bench/plain_trm.py)

Models (random weights; speed does not depend on them): hidden 512, 2 layers, expansion 4, 16-position
puzzle prefix. Sudoku: mlp_t, seq 81, H_cycles 3 x L_cycles 6. Maze and ARC: attention + RoPE, seq 900,
H_cycles 3 x L_cycles 4 (they differ only in vocabulary, 6 vs 12, which costs nothing measurable, so one
row stands for both). Each figure is also given as achieved GFLOP/s (matmul FLOPs counted analytically) and
as a fraction of torch.matmul's fp32 rate on a large square product, measured in the same run: the
practical limit of this CPU. With --plain each row also runs bench/plain_trm.py (the reference's loop, written
plainly) on the same weights and inputs, checks that both give the same answer tokens, and prints its time as
a ratio to solver/'s: the speed-up of solver/ over a line-by-line implementation, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import solver.inference  # noqa: E402
from bench.plain_trm import PlainTRM  # noqa: E402
from solver.config import TRMConfig  # noqa: E402
from solver.inference import solve_steps  # noqa: E402
from solver.model import TRM, init_weights, swiglu_width  # noqa: E402

SIZES = {
    "sudoku mlp_t (seq 81)": TRMConfig.for_kind("sudoku", forward_dtype="float32"),
    "maze/ARC attention (seq 900)": TRMConfig.for_kind("maze", forward_dtype="float32"),
}


def matmul_gflops(n: int = 2048, seconds: float = 2.0, dtype: torch.dtype = torch.float32) -> float:
    """Best torch.matmul rate on n x n operands, in GFLOP/s."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.matmul(a, b)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def step_flops(cfg: TRMConfig, batch: int) -> float:
    """Matmul FLOPs of one supervision step (elementwise work is left out: it is not what limits)."""
    B, S, D = batch, cfg.total_len, cfg.hidden_size
    mlp = 6 * B * S * D * swiglu_width(D, cfg.expansion)
    if cfg.mlp_t:
        mixer = 6 * B * D * S * swiglu_width(S, cfg.expansion)
    else:
        mixer = 2 * B * S * D * 4 * D + 4 * B * S * S * D  # qkv + o projections, scores + weighted sum
    net_calls = cfg.H_cycles * (cfg.L_cycles + 1)
    return net_calls * cfg.L_layers * (mixer + mlp) + 2 * B * cfg.seq_len * D * cfg.vocab_size


def timed_model(cfg: TRMConfig, quick: bool, dtype: torch.dtype) -> TRM:
    """Random weights of `cfg`; quick: cut to one H cycle per step (every cycle of a step costs the same)."""
    timed_cfg = replace(cfg, H_cycles=1) if quick else cfg
    return init_weights(TRM(timed_cfg), torch.Generator().manual_seed(0)).to(dtype).eval()


def time_step(model: TRM, tokens: torch.Tensor, quick: bool, h_cycles: int) -> tuple[float, str, np.ndarray, int]:
    """Seconds per supervision step through `solve_steps` (the path the worker and the CLI use), the answer
    tokens of the last step timed, and how many steps were run.

    Full: the median of 3 steps, or for one step over 20 s the second of 2. Quick: the model is cut to one H
    cycle; the fastest of 3 steps (of 1 when a step takes over 20 s), scaled by the real model's `h_cycles`.
    """
    with torch.inference_mode():  # warm-up: first-call allocations and kernel choices
        x = model.embed(tokens[:1], torch.zeros(1, dtype=torch.long))
        model.cycle(*model.initial_state(1), x)
    times, answer = [], None
    for result in solve_steps(model, tokens, steps=3):
        times.append(result.seconds)
        answer = result.tokens
        if result.seconds > 20:
            break
    return summarise(times, quick, h_cycles) + (answer, len(times))


def time_plain_step(model: TRM, tokens: torch.Tensor, quick: bool, h_cycles: int, steps: int
                    ) -> tuple[float, str, np.ndarray]:
    """The same as time_step for bench/plain_trm.py's PlainTRM holding `model`'s weights, over exactly
    `steps` steps (as many as solve_steps ran, so that the answers compared are of the same step)."""
    plain = PlainTRM(model.config)
    plain.load_state_dict(model.state_dict())
    plain.to(model.dtype).eval()
    batch = {"inputs": tokens, "puzzle_identifiers": torch.zeros(tokens.shape[0], dtype=torch.long)}
    times, answer = [], None
    with torch.inference_mode():
        carry = plain.initial_carry(batch, model.dtype)
        for _ in range(steps):
            started = time.perf_counter()
            carry, logits, _q_halt = plain.step(carry, batch, model.dtype)
            answer = logits.argmax(-1).numpy()
            times.append(time.perf_counter() - started)
    return summarise(times, quick, h_cycles) + (answer,)


def summarise(times: list[float], quick: bool, h_cycles: int) -> tuple[float, str]:
    if quick:
        return min(times) * h_cycles, f"fastest of {len(times)} H cycles x H_cycles"
    if len(times) == 3:
        return sorted(times)[1], "median of 3 steps"
    return times[-1], f"step {len(times)} of {len(times)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="time one H cycle per size and batch")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--plain", action="store_true", help="also time bench/plain_trm.py on the same weights")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                        help="compute dtype of the models and of the matmul limit")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--no-chunks", action="store_true",
                        help="run a batch whole instead of in page-fault-sized chunks (the kept optimisation)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.no_chunks:
        solver.inference.CPU_CHUNK_BYTES = 2 ** 62

    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    peak = matmul_gflops(seconds=1.0 if args.quick else 3.0, dtype=dtype)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} (other work on the machine slows every figure)")
    print(f"torch.matmul {args.dtype} (2048^3): {peak:.1f} GFLOP/s  <- the limit figures are compared with\n")
    plain_head = f" {'plain s/step':>12} {'plain/ours':>10} {'same tokens':>11}" if args.plain else ""
    print(f"{'model':30} {'batch':>5} {'s/step':>9} {'s/16 steps':>11} {'GFLOP/s':>8} {'of limit':>8}{plain_head}"
          "  timed as")
    results = {"dtype": args.dtype, "matmul_gflops": peak, "threads": torch.get_num_threads(), "rows": []}
    for name, cfg in SIZES.items():
        model = timed_model(cfg, args.quick, dtype)
        for batch in args.batches:
            tokens = torch.randint(1, cfg.vocab_size, (batch, cfg.seq_len), generator=torch.Generator().manual_seed(1))
            seconds, how, answer, steps_run = time_step(model, tokens, args.quick, cfg.H_cycles)
            rate = step_flops(cfg, batch) / seconds / 1e9
            row = {"model": name, "batch": batch, "seconds_per_step": seconds, "gflops": rate,
                   "fraction_of_matmul": rate / peak, "timed_as": how}
            line = f"{name:30} {batch:5d} {seconds:9.3f} {seconds * cfg.halt_max_steps:11.1f} {rate:8.1f} {rate / peak:8.0%}"
            if args.plain:
                plain_seconds, _, plain_answer = time_plain_step(model, tokens, args.quick, cfg.H_cycles, steps_run)
                same = float((plain_answer == answer).mean())
                row.update(plain_seconds_per_step=plain_seconds, same_tokens=same)
                line += f" {plain_seconds:12.3f} {plain_seconds / seconds:10.2f} {same:11.2%}"
            print(f"{line}  {how}", flush=True)
            results["rows"].append(row)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
