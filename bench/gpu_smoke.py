"""The GPU path in one prepared run: step speed of the published sizes, a job of each kind through a real
worker, and 20 training updates under torchrun. Made to be run on a GPU machine as it is:

    python bench/gpu_smoke.py                    # on CUDA: everything, about 5 minutes on one H100
    python bench/gpu_smoke.py --device cpu --quick   # a dry run of the same code on a CPU (small sizes)

1. Speed: the published models (Sudoku mlp_t 5M, maze/ARC attention 7M; random weights, speed does not
   depend on them) run 16 supervision steps at batch 1, 32 and 256, in fp32, bf16, and bf16 with the H
   cycle under torch.compile (on CUDA also "reduce-overhead": CUDA graphs); per-step ms and puzzles/s of a
   whole 16-step solve, bf16 over fp32 and compiled over eager measured in the same run, and the share of
   answer tokens a compiled run shares with eager after step 1 and 16 (fusion rounds differently, and the
   recursion of random weights amplifies rounding: step 1 is where a wrong compile would show). nano-trm publishes
   TRM-Heavy (9.2M) at batch 32: 72 puzzles/s fp32, 255/s bf16 (its GPU unnamed), the figure to set beside.
2. Jobs: `make run`'s launcher (role all: embedded Redis, SQLite in a temporary folder, one worker on the
   device) solves the shipped demos' Example of each kind, submitted over HTTP; per job the seconds from
   submit to done and the worker's step seconds.
3. Training: `torchrun --nproc-per-node 1 -m solver train` runs 20 updates of the Sudoku demo's model on a
   small generated set; its wall time and its last log line.
Prints each part's table and writes everything as JSON (--output).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import torch

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from puzzles.gallery import starting_puzzles  # noqa: E402  (plain JSON reading, no Django needed)
from solver.config import TRMConfig  # noqa: E402
from solver.inference import solve_steps  # noqa: E402
from solver.model import TRM, init_weights  # noqa: E402

STEPS = 16
KINDS = ("sudoku", "maze", "arc")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_solve(model: TRM, tokens: torch.Tensor, ids: torch.Tensor,
                device: torch.device) -> tuple[float, float, list[torch.Tensor]]:
    """(seconds of the 2 warm-up steps, seconds of a STEPS-step solve, its answer tokens after each step)."""
    started = time.perf_counter()
    for _ in solve_steps(model, tokens, ids, steps=2):  # warm-up (kernels, allocator; compilation)
        pass
    synchronize(device)
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    answers = [torch.as_tensor(result.tokens) for result in solve_steps(model, tokens, ids, steps=STEPS)]
    synchronize(device)
    return warm_up, time.perf_counter() - started, answers


def compile_cycle(model: TRM, mode: str) -> None:
    """Replace the model's H cycle (the step's whole network work) by a torch.compile'd one.

    "reduce-overhead" replays it as a CUDA graph; a graph's outputs live in memory that its next replay
    overwrites, and the step loop feeds them back in, so they are copied out.
    """
    compiled = torch.compile(model.cycle, mode=mode, dynamic=False)

    def cycle(z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        z_H, z_L = compiled(z_H, z_L, x)
        return z_H.clone(), z_L.clone()

    model.cycle = cycle  # type: ignore[method-assign]  # an instance attribute, removed after


def step_speed(device: torch.device, batches: list[int], quick: bool) -> list[dict]:
    """Each model and batch in fp32, bf16, and bf16 with the H cycle compiled (on CUDA also as CUDA graphs):
    ms a step, puzzles a second of a whole solve, ratios over eager fp32 / bf16 from the same run, and how
    many answer tokens the compiled run shares with eager bf16 (fusion changes the rounding)."""
    rows = []
    compile_modes = ["default", "reduce-overhead"] if device.type == "cuda" else ["default"]
    variants = [("float32", None), ("bfloat16", None)] + [("bfloat16", mode) for mode in compile_modes]
    for kind in ("sudoku", "maze"):  # ARC has the maze's shape but for its vocabulary: the same speed
        config = TRMConfig.for_kind(kind, forward_dtype="float32")
        if quick:
            config = replace(config, hidden_size=64, num_heads=2, H_cycles=2, L_cycles=2)
        model = TRM(config)
        init_weights(model, torch.Generator().manual_seed(0))
        runnables = {name: copy.deepcopy(model).to(device=device, dtype=getattr(torch, name)) for name in ("float32", "bfloat16")}
        for batch in batches:
            tokens = torch.randint(1, config.vocab_size, (batch, config.seq_len), device=device)
            ids = torch.zeros(batch, dtype=torch.int32, device=device)
            eager: dict[str, dict] = {}
            for dtype_name, mode in variants:
                runnable = runnables[dtype_name]
                row = {"model": f"{kind} {config.variant}", "dtype": dtype_name, "compile": mode or "", "batch": batch}
                try:
                    if mode:
                        torch._dynamo.reset()
                        compile_cycle(runnable, mode)
                    warm_up, seconds, answer = timed_solve(runnable, tokens, ids, device)
                except Exception as error:  # a compile mode this machine cannot run: say why, go on
                    row["error"] = f"{type(error).__name__}: {error}"[:400]
                    print(f"{row['model']:<22} {dtype_name:<9} {mode or 'eager':<15} batch {batch:>4}: {row['error']}", flush=True)
                    rows.append(row)
                    continue
                finally:
                    runnable.__dict__.pop("cycle", None)
                row.update(ms_per_step=round(1000 * seconds / STEPS, 3), puzzles_per_s=round(batch / seconds, 2),
                           warm_up_s=round(warm_up, 2))
                if not mode:
                    eager[dtype_name] = {"row": row, "answer": answer}
                if dtype_name == "bfloat16":
                    row["bf16_over_fp32"] = round(row["puzzles_per_s"] / eager["float32"]["row"]["puzzles_per_s"], 2)
                if mode:
                    row["over_eager_bf16"] = round(row["puzzles_per_s"] / eager["bfloat16"]["row"]["puzzles_per_s"], 2)
                    # After step 1 and the last: random weights amplify rounding (the mlp_t Sudoku's answers
                    # part after ~16 H cycles even in fp32), so step 1 is where a wrong compile would show.
                    row["tokens_as_eager_bf16"] = [round(float((answer[i] == eager["bfloat16"]["answer"][i]).float().mean()), 4)
                                                   for i in (0, -1)]
                print(f"{row['model']:<22} {dtype_name:<9} {mode or 'eager':<15} batch {batch:>4}: "
                      f"{row['ms_per_step']:>9.2f} ms/step  {row['puzzles_per_s']:>9.2f} puzzles/s  "
                      f"(warm-up {row['warm_up_s']} s)", flush=True)
                rows.append(row)
    return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}),
                                timeout=30) as response:
        return json.load(response)


def jobs_through_a_worker(device: torch.device, folder: Path) -> list[dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "TRM_ROLE": "all", "TRM_VAR_DIR": str(folder / "var"),
           "TRM_DEVICE": "gpu" if device.type == "cuda" else "cpu"}
    env.pop("DATABASE_URL", None), env.pop("REDIS_URL", None)
    launcher = subprocess.Popen([sys.executable, "-m", "trmweb.launcher"], cwd=PROJECT_DIR, env=env,
                                stdout=open(folder / "launcher.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                request(base + "/api/v1/checkpoints/")
                break
            except OSError:
                if time.monotonic() > deadline or launcher.poll() is not None:
                    raise SystemExit((folder / "launcher.log").read_text()[-3000:]) from None
                time.sleep(1)
        examples = starting_puzzles()["examples"]
        rows = []
        for kind in KINDS:
            example = examples[kind]
            if kind == "arc":  # the example names a task of the library, which the API serves
                task = request(f"{base}/api/v1/arc-tasks/{example['dataset']}/{example['name']}/")
                puzzle = {"train": task["train"], "test": [{"input": t["input"]} for t in task["test"]],
                          "task": example["name"]}
            else:
                puzzle = {"grid": example["puzzle"]}
            submitted = time.monotonic()
            job = request(base + "/api/v1/jobs/", {"kind": kind, "puzzle": puzzle})
            while (state := request(base + job["url"]))["status"] in ("queued", "running"):
                time.sleep(0.2)
            steps = request(base + job["url"] + "steps/")
            rows.append({"kind": kind, "status": state["status"], "submit_to_done_s": round(time.monotonic() - submitted, 3),
                         "steps": len(steps), "step_seconds": [round(s.get("seconds") or 0, 4) for s in steps],
                         "error": state.get("error") or ""})
            print(f"job {kind:<7} {state['status']:<7} {rows[-1]['submit_to_done_s']:>7.2f} s, "
                  f"{len(steps)} steps {rows[-1]['step_seconds']}", flush=True)
        return rows
    finally:
        os.killpg(launcher.pid, 15)
        launcher.wait(timeout=60)


def torchrun_training(device: torch.device, folder: Path, updates: int) -> dict:
    data = folder / "sudoku-data"
    subprocess.run([sys.executable, "-m", "solver", "build-dataset", "sudoku", "--output-dir", str(data),
                    "--num-train", "512", "--num-test", "32", "--bands", "0"], cwd=PROJECT_DIR, check=True,
                   capture_output=True)
    config = folder / "train.yaml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "arch": {"hidden_size": 128, "num_heads": 4, "expansion": 4, "L_layers": 2, "H_cycles": 2, "L_cycles": 3,
                 "mlp_t": True, "pos_encodings": "none", "puzzle_emb_ndim": 0,
                 "forward_dtype": "bfloat16" if device.type == "cuda" else "float32", "halt_max_steps": 8},
        "global_batch_size": 128, "max_steps": updates, "lr": 1e-3, "lr_warmup_steps": 5, "log_every": 5,
        "checkpoint_every": updates, "eval_every": updates, "eval_limit": 32,
        "data_paths": [str(data)], "checkpoint_path": str(folder / "run")}))
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    started = time.monotonic()
    done = subprocess.run([torchrun, "--nproc-per-node", "1", "-m", "solver", "train", "--config", str(config),
                           "--device", device.type], cwd=PROJECT_DIR, capture_output=True, text=True)
    seconds = time.monotonic() - started
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    result = {"returncode": done.returncode, "seconds": round(seconds, 2), "updates": updates,
              "last_lines": lines[-3:]}
    print(f"torchrun: {updates} updates in {seconds:.1f} s, exit {done.returncode}; " + " | ".join(lines[-2:]), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="small models and batches (a dry run on a CPU)")
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--output", type=Path, default=PROJECT_DIR / "var" / "bench" / "gpu_smoke.json")
    args = parser.parse_args()
    device = torch.device(args.device)
    report: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    "torch": torch.__version__}
    print(f"device: {report['device']}, torch {report['torch']}", flush=True)
    report["speed"] = step_speed(device, [1, 4] if args.quick else [1, 32, 256], args.quick)
    with tempfile.TemporaryDirectory() as folder:
        report["jobs"] = jobs_through_a_worker(device, Path(folder))
        report["training"] = torchrun_training(device, Path(folder), 4 if args.quick else args.updates)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.output}")
    failed = [job for job in report["jobs"] if job["status"] != "done"] or report["training"]["returncode"] != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
