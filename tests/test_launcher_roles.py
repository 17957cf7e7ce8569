"""`make run` roles (TRM_ROLE) as an operator meets them: a web role serves and queues but runs no worker, a
worker role started beside it (sharing only the database, Redis and the web's URL) solves the queued job,
and a worker role missing or unable to reach any of those refuses to start with one line saying which."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import PROJECT_DIR
from tests.stack import free_port
from tests.test_launcher import SUDOKU, Launcher, _command_line, launchers  # noqa: F401 (a fixture)
from trmweb.redis_server import EmbeddedRedis

pytestmark = pytest.mark.stack
KEY = "roles-test-key-not-a-secret"


def refusal(launcher: Launcher) -> str:
    """The launcher's one-line reason, once it has exited."""
    assert launcher.top.wait(timeout=120) == 1, launcher.log()
    lines = [line for line in launcher.log().splitlines() if line.startswith("[playground] cannot start: ")]
    assert len(lines) == 1, launcher.log()
    return lines[0].removeprefix("[playground] cannot start: ")


def celery_ran(launcher: Launcher) -> bool:
    return "celery@" in launcher.log()


def migrated_database(path) -> None:
    """An SQLite database with the playground's tables (what a web role leaves behind)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=KEY,
               DATABASE_URL=f"sqlite:///{path}", TRM_VAR_DIR=str(path.parent))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT_DIR, env=env, check=True)


def test_a_worker_without_its_settings_names_every_missing_one(tmp_path, launchers):
    launcher = launchers(tmp_path, TRM_ROLE="worker")

    reason = refusal(launcher)

    assert reason.startswith("the worker role needs REDIS_URL, DJANGO_SECRET_KEY, TRM_WEB_URL:")
    assert "DATABASE_URL" not in reason.split(":")[0]  # the Launcher gives one
    assert not celery_ran(launcher)


def test_a_worker_whose_redis_does_not_answer_refuses(tmp_path, launchers):
    dead = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    launcher = launchers(tmp_path, TRM_ROLE="worker", REDIS_URL=dead, DJANGO_SECRET_KEY=KEY, TRM_WEB_URL="http://127.0.0.1:1")

    reason = refusal(launcher)

    assert reason.startswith("REDIS_URL=redis://:***@127.0.0.1:") and "does not answer" in reason
    assert "hunter2" not in launcher.log()


@pytest.fixture
def redis_server():
    """A Redis of this test's own: no other session's worker can take the jobs queued on it."""
    with EmbeddedRedis() as server:
        yield server.url


def test_a_worker_on_a_database_without_the_playground_refuses(tmp_path, launchers, redis_server):
    launcher = launchers(tmp_path, TRM_ROLE="worker", REDIS_URL=redis_server, DJANGO_SECRET_KEY=KEY,
                         TRM_WEB_URL="http://127.0.0.1:1")

    reason = refusal(launcher)

    assert "holds no playground tables; start the web role first" in reason


def test_a_worker_that_cannot_reach_the_web_refuses(tmp_path, launchers, redis_server):
    migrated_database(tmp_path / "launcher.sqlite3")  # where the Launcher points DATABASE_URL
    launcher = launchers(tmp_path, TRM_ROLE="worker", REDIS_URL=redis_server, DJANGO_SECRET_KEY=KEY,
                         TRM_WEB_URL=f"http://127.0.0.1:{free_port()}")

    reason = refusal(launcher)

    assert reason.startswith("TRM_WEB_URL=http://127.0.0.1:") and "does not answer" in reason


def test_an_unknown_role_is_refused(tmp_path, launchers):
    assert refusal(launchers(tmp_path, TRM_ROLE="gpu")) == "TRM_ROLE='gpu' is not a role; use one of all, web, worker"


def test_a_web_role_whose_redis_does_not_answer_refuses_instead_of_embedding_one(tmp_path, launchers):
    reason = refusal(launchers(tmp_path, TRM_ROLE="web", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))

    assert "does not answer, and the web role's workers take their jobs from it" in reason


def test_a_web_role_queues_and_a_worker_role_beside_it_solves(tmp_path, launchers, redis_server):
    (tmp_path / "web").mkdir()
    web = launchers(tmp_path / "web", TRM_ROLE="web", REDIS_URL=redis_server, DJANGO_SECRET_KEY=KEY)
    web.wait_ready()
    assert "no worker here" in web.log()
    assert not any("celery" in _command_line(process) for process in web.ours())
    job = web.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})
    time.sleep(3)
    assert web.request("GET", job["url"])["status"] == "queued"  # nobody here takes it

    # The worker has a var directory of its own and the web's database, Redis, key and URL.
    (tmp_path / "worker").mkdir()
    worker = Launcher(tmp_path / "worker", TRM_ROLE="worker", REDIS_URL=redis_server, DJANGO_SECRET_KEY=KEY,
                      TRM_WEB_URL=web.url)
    worker.env["DATABASE_URL"] = web.env["DATABASE_URL"]
    try:
        worker.start()
        worker.wait_until(lambda: "worker started for the web at" in worker.log(), 120, "starting the worker")
        web.wait_until(lambda: web.request("GET", job["url"])["status"] == "done", 120, "solving the queued job")
        with sqlite3.connect(web.database) as database:
            assert database.execute("SELECT COUNT(*) FROM puzzles_step").fetchone()[0] == 2

        for launcher in (worker, web):
            family = launcher.ours()
            sent = launcher.send("launcher", [signal.SIGTERM])
            print(f"{launcher.env['TRM_ROLE']} role stopped in {launcher.assert_stops(family, sent):.1f} s")
            assert launcher.top.returncode == 0
    finally:
        worker.kill_leftovers()
