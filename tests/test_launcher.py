"""`make run`'s launcher as a new user meets it: a REDIS_URL that points nowhere falls back to the
embedded Redis, the page answers, a job runs, and SIGTERM stops every process it started."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.stack import free_port
from trmweb.redis_server import EmbeddedRedis

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_embedded_redis_starts_answers_and_stops():
    with EmbeddedRedis() as server:
        import redis

        client = redis.Redis.from_url(server.url)
        assert client.ping()
        process = psutil.Process(server.process.pid)
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


@pytest.mark.stack
def test_launcher_falls_back_to_embedded_redis_serves_and_stops_on_sigterm(tmp_path):
    closed_port = free_port()
    port = free_port()
    env = dict(os.environ, PORT=str(port), REDIS_URL=f"redis://127.0.0.1:{closed_port}/0",
               TRM_VAR_DIR=str(tmp_path), TRM_DEVICE="cpu",
               # A database of its own, never the one the suite runs against (nor a real one).
               DATABASE_URL=f"sqlite:///{tmp_path / 'launcher.sqlite3'}")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_SECRET_KEY", None)
    log = open(tmp_path / "launcher.log", "w+")
    launcher = subprocess.Popen([sys.executable, "-m", "trmweb.launcher"], cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 150
        while "playground ready at" not in (tmp_path / "launcher.log").read_text():
            assert launcher.poll() is None, (tmp_path / "launcher.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the playground did not come up"
            time.sleep(0.5)
        output = (tmp_path / "launcher.log").read_text()
        assert "does not answer; starting the embedded Redis instead" in output
        children = psutil.Process(launcher.pid).children(recursive=True)
        assert len(children) >= 3  # redis-server, worker, daphne

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            health = json.load(response)
        assert health["database"]["ok"] and health["redis"]["ok"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert "TRM Playground" in response.read().decode()

        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=40) == 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"still running after SIGTERM: {alive}"
    finally:
        if launcher.poll() is None:
            launcher.kill()
