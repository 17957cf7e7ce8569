"""The web process's start-up and idle memory, without torch (as it runs now) and with it (as it ran before
the web side stopped importing the solver's model code).

    python bench/web_start.py              # 5 starts of each, alternating
    python bench/web_start.py --runs 10

Each run starts daphne on a fresh port against a migrated SQLite database in a temporary folder and an
embedded Redis, measures the seconds until its port accepts a connection and until the playground page
answers (200), then serves the page, the checkpoint list and the OpenAPI schema and reads its RSS and USS.
The baseline, measured in the same run and alternated with the other so that machine noise falls on both,
is the same daphne command run as `python -c "import torch; <daphne's entry point>"`: a web process that
carries torch, which every web process did while the API imported the ARC fitting budgets from the trainer.
Prints a table of medians and the ratios.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from trmweb.redis_server import EmbeddedRedis  # noqa: E402

DAPHNE = "from daphne.cli import CommandLineInterface; CommandLineInterface.entrypoint()"
VARIANTS = {"without torch (now)": DAPHNE, "with torch (before)": "import torch; " + DAPHNE}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = 60) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError("daphne did not answer")
        time.sleep(0.02)
    return time.monotonic()


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def one_start(code: str, env: dict) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", code, "-b", "127.0.0.1", "-p", str(port), "trmweb.asgi:application"],
                               cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        listening = wait_for(lambda: accepts(port)) - started
        first_page = wait_for(lambda: page_answers(base + "/")) - started
        for path in ("/", "/api/v1/checkpoints/", "/api/v1/schema/"):
            urllib.request.urlopen(base + path, timeout=30).read()
        memory = psutil.Process(process.pid).memory_full_info()
        return {"listening": listening, "first page": first_page, "RSS MiB": memory.rss / 2**20,
                "USS MiB": memory.uss / 2**20}
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, EmbeddedRedis() as redis_server:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "trmweb.settings", "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
               "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "REDIS_URL": redis_server.url,
               "TRM_STATIC_ROOT": f"{folder}/static", "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            subprocess.run([sys.executable, "manage.py", *command, "--verbosity", "0"], cwd=PROJECT_DIR, env=env,
                           check=True)
        results: dict[str, list[dict]] = {name: [] for name in VARIANTS}
        for run in range(args.runs):
            for name, code in VARIANTS.items():
                results[name].append(one_start(code, env))
                print(f"run {run + 1}/{args.runs} {name}: " +
                      ", ".join(f"{k} {v:.2f}" for k, v in results[name][-1].items()), flush=True)

    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in results.items()}
    now, before = medians["without torch (now)"], medians["with torch (before)"]
    print(f"\nmedians of {args.runs} starts each\n")
    print("| | " + " | ".join(now) + " |")
    print("|---|" + "---:|" * len(now))
    for name, figures in medians.items():
        print(f"| {name} | " + " | ".join(f"{value:.2f}" for value in figures.values()) + " |")
    print("| before / now | " + " | ".join(f"{before[key] / now[key]:.2f}x" for key in now) + " |")


if __name__ == "__main__":
    main()
