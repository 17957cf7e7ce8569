"""Load on the whole playground: N clients each submit a puzzle and watch its stream, all at once.

    python bench/load.py                 # 50 clients, Sudoku, 4 steps, on a private `make run` stack
    python bench/load.py --clients 20 --steps 16 --kind maze
    python bench/load.py --database postgres://postgres@127.0.0.1:5432/postgres --worker-processes 2 \
        --ramp 50,100,200,400        # production-like; rounds of more clients until one loses or fails

Starts the playground exactly as `make run` does (launcher, embedded Redis, a worker, daphne) on a free
port with its own var/ folder, so it only ever talks to its own servers on loopback. With --database a
PostgreSQL server is used instead of SQLite: a database of the run's own is created on it and dropped
afterwards. --worker-processes sets the worker's pool size (TRM_WORKER_CONCURRENCY). Prints:
submits per second, time from a step being saved to its arrival at the client (median, p99), steps
lost (must be 0), errors, and the batching ratio: the wall time of the N jobs against N times the wall
time of one lone job measured first in the same run.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from websockets.asyncio.client import connect

PROJECT_DIR = Path(__file__).resolve().parent.parent
PUZZLES = {
    "sudoku": {"grid": "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."},
    "maze": {"grid": ["##########", "#S       #", "# ###### #", "#      #G#", "##########"]},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(base: str, body: dict) -> dict:
    request = urllib.request.Request(base + "/api/v1/jobs/", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def watch(ws_base: str, job: dict, expected_steps: int) -> dict:
    """Read one job's stream to its end; the delays of its steps and whether any was missing.

    With websockets' asyncio client, in this thread's own event loop: its sync client now and then loses the
    messages that arrive right behind the handshake on a loaded machine (bench/README.md, the load ramp)."""
    return asyncio.run(_watch(ws_base, job, expected_steps))


async def _watch(ws_base: str, job: dict, expected_steps: int) -> dict:
    delays, steps = [], []
    async with connect(ws_base + job["stream"], open_timeout=30) as stream:
        while True:
            message = json.loads(await asyncio.wait_for(stream.recv(), timeout=600))
            if message["type"] == "status":
                return {"status": message["status"], "delays": delays,
                        "batch_size": (message.get("result") or {}).get("batch_size"),
                        "lost": expected_steps - len(steps), "duplicates": len(steps) - len(set(steps))}
            if message["type"] != "step":
                raise RuntimeError(f"unexpected message {json.dumps(message)[:300]}")
            delays.append(time.time() - message["saved_at"])
            steps.append(message["step"])


def one_client(base: str, ws_base: str, body: dict, steps: int, results: list, errors: list) -> None:
    try:
        started = time.monotonic()
        job = post(base, body)
        submitted = time.monotonic()
        outcome = watch(ws_base, job, steps)
        outcome.update(submit_seconds=submitted - started, total_seconds=time.monotonic() - started)
        results.append(outcome)
    except Exception as error:  # counted, not fatal: the figure is how many fail
        errors.append(f"{type(error).__name__}: {error}")


def run_clients(base: str, ws_base: str, body: dict, steps: int, clients: int) -> tuple[list, list, float, float]:
    results, errors = [], []
    threads = [threading.Thread(target=one_client, args=(base, ws_base, body, steps, results, errors)) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    submit_window = max((r["submit_seconds"] for r in results), default=0.0)
    return results, errors, wall, submit_window


def start_playground(port: int, var_dir: Path, env_overrides: dict) -> subprocess.Popen:
    # Every simulated client comes from 127.0.0.1, so the per-client limits are lifted for the run.
    env = dict(os.environ, PORT=str(port), TRM_VAR_DIR=str(var_dir), TRM_SUBMIT_RATE_ANON="100000/min",
               TRM_MAX_ACTIVE_JOBS="100000", TRM_MAX_SOCKETS_PER_CLIENT="100000",
               DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}")
    env.update(env_overrides)
    env.pop("REDIS_URL", None)  # always the private embedded Redis: never load someone else's
    log = open(var_dir / "playground.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "trmweb.launcher"], cwd=PROJECT_DIR, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while "playground ready at" not in (var_dir / "playground.log").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the playground did not start:\n" + (var_dir / "playground.log").read_text()[-3000:])
        time.sleep(0.5)
    return process


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def report(clients: int, lone_wall: float, results: list, errors: list, wall: float, submit_window: float) -> bool:
    """Print one round's figures; True when nothing was lost and nothing failed."""
    delays = [d for r in results for d in r["delays"]]
    lost = sum(r["lost"] for r in results)
    duplicated = sum(r["duplicates"] for r in results)
    not_done = sum(r["status"] != "done" for r in results)
    print(f"-- {clients} clients")
    print(f"all {clients} jobs: {wall:.2f} s wall = {wall / (clients * lone_wall):.3f} x ({clients} x lone)")
    print(f"submits: {len(results) + len(errors)} in {submit_window:.2f} s = "
          f"{len(results) / max(submit_window, 1e-9):.1f} per second")
    if delays:
        print(f"step delivery (saved -> client): median {statistics.median(delays) * 1000:.1f} ms, "
              f"p99 {percentile(delays, 0.99) * 1000:.1f} ms over {len(delays)} steps")
    print(f"steps lost: {lost}, duplicated: {duplicated}, jobs not done: {not_done}, errors: {len(errors)}")
    sizes = sorted(r["batch_size"] for r in results if r["batch_size"])
    print(f"batch sizes the jobs ran in: median {statistics.median(sizes) if sizes else 'n/a'}, "
          f"largest {max(sizes, default='n/a')}")
    for error in errors[:5]:
        print("  error:", error)
    return not (lost or duplicated or not_done or errors)


def last_server_traceback(log_path: Path, lines: int = 12) -> str:
    """The innermost frames and the exception of the last traceback the playground logged: why a request
    failed, from the server's side."""
    text = log_path.read_text(errors="replace")
    start = text.rfind("Traceback (most recent call last)")
    if start < 0:
        return "(no traceback in the server log)"
    body = text[start:].splitlines()
    end = next((i for i, line in enumerate(body) if i and not line.startswith(" ")), len(body) - 1)
    return "\n".join(body[max(0, end + 1 - lines):end + 1])


@contextmanager
def private_database(url: str | None):
    """DATABASE_URL for the run: SQLite in its folder by default, or a new database on a PostgreSQL server."""
    if url is None:
        yield None
        return
    import psycopg

    name = f"trm_load_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--ramp", help="comma-separated client counts, run in turn until a round loses a step "
                                       "or fails a job (replaces --clients)")
    parser.add_argument("--kind", choices=sorted(PUZZLES), default="sudoku")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch threads in each worker process")
    parser.add_argument("--worker-processes", type=int, default=1, help="processes in the worker's pool")
    parser.add_argument("--database", help="a PostgreSQL server URL to use instead of SQLite (a private "
                                           "database is created on it and dropped afterwards)")
    parser.add_argument("--lone-runs", type=int, default=5, help="lone jobs timed one after another for the baseline")
    parser.add_argument("--keep-log", metavar="FILE", help="copy the playground's log (web, worker, Redis) here")
    args = parser.parse_args()
    rounds = [int(n) for n in args.ramp.split(",")] if args.ramp else [args.clients]

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="trm-load-") as folder, private_database(args.database) as database:
        overrides = {"TRM_TORCH_THREADS": str(args.torch_threads), "TRM_WORKER_CONCURRENCY": str(args.worker_processes)}
        if database:
            overrides["DATABASE_URL"] = database
        playground = start_playground(port, Path(folder), overrides)
        try:
            base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
            body = {"kind": args.kind, "puzzle": PUZZLES[args.kind], "steps": args.steps}
            run_clients(base, ws_base, body, args.steps, 1)  # warm-up: load the checkpoint once
            lone_wall = statistics.median(run_clients(base, ws_base, body, args.steps, 1)[2] for _ in range(args.lone_runs))
            print(f"kind {args.kind}, {args.steps} steps each, the active checkpoint of `make run`, "
                  f"database {'PostgreSQL' if database else 'SQLite'}, {args.worker_processes} worker process(es)")
            print(f"lone job (baseline, same run; median of {args.lone_runs}): {lone_wall:.3f} s, "
                  f"batching window {os.environ.get('TRM_BATCH_WINDOW_MS', 'default')} ms")
            for clients in rounds:
                if not report(clients, lone_wall, *run_clients(base, ws_base, body, args.steps, clients)):
                    print(f"breaking point: {clients} clients (first round with a lost step, a failed job or an error)")
                    print("last server-side traceback:\n" + last_server_traceback(Path(folder) / "playground.log"))
                    break
            else:
                print(f"no breaking point up to {rounds[-1]} clients")
        finally:
            playground.send_signal(signal.SIGTERM)
            playground.wait(timeout=60)
            if args.keep_log:
                shutil.copyfile(Path(folder) / "playground.log", args.keep_log)


if __name__ == "__main__":
    main()
