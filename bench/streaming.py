"""Streaming overhead: from a step computed in the worker to its arrival at a WebSocket client, by stage.

    python bench/streaming.py              # 20 Sudoku jobs from 4 clients, every step of the checkpoint, SQLite
    python bench/streaming.py --database postgres://postgres@127.0.0.1:5432/postgres
    python bench/streaming.py --jobs 40 --clients 8 --steps 4

Starts its own playground as bench/load.py does (launcher, embedded Redis, one worker, daphne, a temporary
var/ folder; --database: a private database on that PostgreSQL server, dropped afterwards). Each client
submits its share of the jobs one after another and reads each stream to its end, noting when every step
arrived. The stage times each step message carries (puzzles/messages.py) split the way of a live step:

    database           committed_at - computed_at   decode the step, BEGIN, INSERT, heartbeat UPDATE, COMMIT
      before INSERT    saved_at - computed_at       decoding, and with SQLite the wait for the write lock
    publish queue      published_at - committed_at  the batch's earlier steps being published first
    Redis + layer      relayed_at - published_at    worker -> Redis -> the consumer in daphne
    consumer -> client arrival - relayed_at         JSON, daphne, the socket, the client's thread
    total              arrival - computed_at

What a person waits for first, submit -> first step on the socket: for the first job after the playground
started (the warm-up job: the worker had just started, with its checkpoints preloaded unless --no-preload)
and for every later job (median and p99). `--no-preload` starts the worker without TRM_PRELOAD_CHECKPOINTS,
so its first job loads the checkpoint: the difference is what preloading saves.

Steps saved before their viewer's socket opened come by replay and carry no worker times; after the jobs,
every stream is read again (all replay) for the replay's consumer -> client figure. Baselines, measured in
the same run just before the jobs against the same servers: a Redis PING and a PUBLISH -> SUBSCRIBE round
trip, and one small row's INSERT + COMMIT in the playground's database. Prints median and p99 per stage
(milliseconds) and each median as a multiple of its baseline's median.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.error
from pathlib import Path

import redis
from websockets.asyncio.client import connect

# bench/ is the script's folder, so its sibling imports as a module: the same playground, the same helpers.
from load import PUZZLES, free_port, percentile, post, private_database, start_playground

BASELINE_ROUNDS = 300
STAGES = {  # name: (later stamp, earlier stamp), as the module docstring lists them
    "total (computed -> client)": ("arrival", "computed_at"),
    "database (computed -> committed)": ("committed_at", "computed_at"),
    "  of which before the INSERT": ("saved_at", "computed_at"),
    "publish queue (batch)": ("published_at", "committed_at"),
    "Redis + channel layer": ("relayed_at", "published_at"),
    "consumer -> client": ("arrival", "relayed_at"),
}
# The bare operation each stage is set against (consumer -> client: a loopback round trip, for scale).
BASELINE_OF = {"database (computed -> committed)": "INSERT + COMMIT",
               "Redis + channel layer": "Redis PUBLISH -> SUBSCRIBE",
               "consumer -> client": "Redis PING"}


def read_steps(url: str) -> tuple[list[dict], int]:
    """The stream's step messages to its end, each with `arrival` (this client's clock, the servers' too), and
    the size of the batch the job ran in. Read with websockets' asyncio client (see bench/load.py, watch)."""
    return asyncio.run(_read_steps(url))


async def _read_steps(url: str) -> tuple[list[dict], int]:
    steps = []
    async with connect(url, open_timeout=30) as stream:
        while True:
            text = await asyncio.wait_for(stream.recv(), timeout=600)
            arrival = time.time()
            message = json.loads(text)
            if message["type"] == "status":
                if message["status"] != "done":
                    raise RuntimeError(f"job ended {message['status']}: {message.get('error', '')}")
                return steps, message["result"]["batch_size"]
            steps.append({**message, "arrival": arrival})


def one_client(base: str, ws_base: str, body: dict, jobs: int, streams: list, errors: list) -> None:
    for _ in range(jobs):
        try:
            submitted = time.time()
            job = post(base, body)
            steps, batch_size = read_steps(ws_base + job["stream"])
            streams.append((job["stream"], steps, batch_size, steps[0]["arrival"] - submitted if steps else None))
        except urllib.error.HTTPError as error:  # the answer says why (a bad --steps, a limit)
            errors.append(f"HTTP {error.code}: {error.read().decode(errors='replace')[:300]}")
        except Exception as error:  # counted and printed: a failing stack must not read as a fast one
            errors.append(f"{type(error).__name__}: {error}")


def run_clients(base: str, ws_base: str, body: dict, jobs: int, clients: int) -> tuple[list, list]:
    """(stream path, steps, batch size, seconds from submit to the first step) of every job, and the errors;
    `jobs` shared out among `clients` threads."""
    streams, errors = [], []
    shares = [jobs // clients + (i < jobs % clients) for i in range(clients)]
    threads = [threading.Thread(target=one_client, args=(base, ws_base, body, share, streams, errors))
               for share in shares if share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return streams, errors


def timed(rounds: int, action) -> list[float]:
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return durations


def redis_baselines(url: str) -> dict[str, list[float]]:
    """PING, and PUBLISH on one connection until the message is read on another (SUBSCRIBE)."""
    publisher, subscriber = redis.Redis.from_url(url), redis.Redis.from_url(url)
    listener = subscriber.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("bench-streaming")
    listener.get_message(timeout=5)  # the subscription's confirmation

    def round_trip() -> None:
        publisher.publish("bench-streaming", b"x")
        while listener.get_message(timeout=5) is None:
            pass

    try:
        return {"Redis PING": timed(BASELINE_ROUNDS, publisher.ping),
                "Redis PUBLISH -> SUBSCRIBE": timed(BASELINE_ROUNDS, round_trip)}
    finally:
        listener.close()
        publisher.close()
        subscriber.close()


def database_baseline(database_url: str | None, sqlite_path: Path) -> list[float]:
    """One small row's INSERT + COMMIT, with the same SQLite settings as the playground's (trmweb/settings.py)."""
    if database_url is None:
        connection = sqlite3.connect(sqlite_path, isolation_level=None)
        connection.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
                                 "CREATE TABLE bench_streaming (id INTEGER PRIMARY KEY, at REAL)")

        def insert() -> None:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO bench_streaming (at) VALUES (?)", (time.time(),))
            connection.execute("COMMIT")
    else:
        import psycopg

        connection = psycopg.connect(database_url)
        connection.execute("CREATE TABLE bench_streaming (id serial PRIMARY KEY, at double precision)")
        connection.commit()

        def insert() -> None:
            connection.execute("INSERT INTO bench_streaming (at) VALUES (%s)", (time.time(),))
            connection.commit()
    try:
        return timed(BASELINE_ROUNDS, insert)
    finally:
        connection.close()


def milliseconds(values: list[float]) -> str:
    if not values:
        return f"{'n/a':>8} {'n/a':>8}"
    return f"{statistics.median(values) * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f}"


def report(live: list[dict], replayed_first: int, replay: list[dict], baselines: dict[str, list[float]]) -> None:
    print(f"live steps: {len(live)}; replayed on first viewing (saved before the socket opened): {replayed_first}")
    print(f"{'stage (ms)':34} {'median':>8} {'p99':>8}   median / baseline's")
    for name, (later, earlier) in STAGES.items():
        gaps = [m[later] - m[earlier] for m in live]
        ratio = ""
        if name in BASELINE_OF and gaps:
            baseline = BASELINE_OF[name]
            ratio = f"{statistics.median(gaps) / statistics.median(baselines[baseline]):8.1f} x {baseline}"
        print(f"{name:34} {milliseconds(gaps)}   {ratio}")
    print(f"{'replay: consumer -> client':34} {milliseconds([m['arrival'] - m['relayed_at'] for m in replay])}")
    print("baselines (same run, idle stack):")
    for name, values in baselines.items():
        print(f"  {name:32} {milliseconds(values)}")


def embedded_redis_url(log_path: Path) -> str:
    found = re.search(r"started embedded Redis at (\S+)", log_path.read_text())
    if not found:
        raise SystemExit(f"no embedded Redis URL in {log_path}")
    return found.group(1)


def wait_for_the_worker(log_path: Path, timeout: float = 180) -> None:
    """Until Celery says the worker is ready (the page answers before it does): the first job's wait is then
    the worker's and its model's, not the worker process's start-up."""
    deadline = time.monotonic() + timeout
    while not re.search(r"celery@\S+ ready", log_path.read_text(errors="replace")):
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not say it was ready within {timeout:.0f} s (see {log_path})")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4, help="threads that each submit and watch jobs in turn")
    parser.add_argument("--steps", type=int, help="steps per job (default: all of the active checkpoint's, "
                                                  "8 for the shipped Sudoku demo)")
    parser.add_argument("--no-preload", action="store_true", help="start the worker without preloading the "
                                                                  "active checkpoints (TRM_PRELOAD_CHECKPOINTS=0)")
    parser.add_argument("--database", help="a PostgreSQL server URL to use instead of SQLite (a private "
                                           "database is created on it and dropped afterwards)")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="trm-streaming-") as folder, private_database(args.database) as database:
        folder = Path(folder)
        overrides = {"TRM_TORCH_THREADS": "1", "TRM_WORKER_CONCURRENCY": "1",
                     "TRM_PRELOAD_CHECKPOINTS": "0" if args.no_preload else "1"}
        if database:
            overrides["DATABASE_URL"] = database
        playground = start_playground(port, folder, overrides)
        try:
            base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
            body = {"kind": "sudoku", "puzzle": PUZZLES["sudoku"], "steps": args.steps}  # None: the checkpoint's
            wait_for_the_worker(folder / "playground.log")
            # The warm-up job, the first after the start: afterwards the worker is up and the checkpoint loaded.
            warm_up, failed = run_clients(base, ws_base, body, 1, 1)
            if failed:
                raise SystemExit(f"the warm-up job failed: {failed[0]}")
            load_before = os.getloadavg()[0]
            baselines = {**redis_baselines(embedded_redis_url(folder / "playground.log")),
                         "INSERT + COMMIT": database_baseline(database, folder / "db.sqlite3")}
            streams, errors = run_clients(base, ws_base, body, args.jobs, args.clients)
            replay = [m for path, *_ in streams for m in read_steps(ws_base + path)[0]]
            first_viewing = [m for _, steps, *_ in streams for m in steps]
            live = [m for m in first_viewing if "computed_at" in m]
            steps_per_job = len(streams[0][1]) if streams else 0
            print(f"{args.jobs} Sudoku jobs of {steps_per_job} steps from {args.clients} clients, database "
                  f"{'PostgreSQL' if database else 'SQLite'}, load average {load_before:.2f} at the start "
                  f"and {os.getloadavg()[0]:.2f} at the end")
            sizes = [size for _, _, size, _ in streams]
            print(f"jobs done: {len(streams)} of {args.jobs}, in batches of median {statistics.median(sizes or [0])} "
                  f"(largest {max(sizes, default=0)}); errors: {len(errors)}")
            for error in errors[:5]:
                print("  error:", error)
            later = [first for *_, first in streams if first is not None]
            print(f"submit -> first step on the socket (ms): first job after the start "
                  f"({'no preload' if args.no_preload else 'checkpoints preloaded'}) {warm_up[0][3] * 1000:.0f}; "
                  f"later jobs median / p99 {milliseconds(later)}")
            report(live, len(first_viewing) - len(live), replay, baselines)
        finally:
            playground.send_signal(signal.SIGTERM)
            playground.wait(timeout=60)


if __name__ == "__main__":
    main()
