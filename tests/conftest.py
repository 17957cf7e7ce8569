"""Fixtures shared by the suite: a real Redis for every session, and on demand the real stack
(a Celery worker and daphne as separate processes) on the test database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.stack import Stack, database_url_for_subprocess, use_redis
from trmweb.redis_server import EmbeddedRedis, redis_answers

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def redis_url():
    """TEST_REDIS_URL when it answers, else a private embedded redis-server for this session."""
    url = os.environ.get("TEST_REDIS_URL")
    if url and redis_answers(url):
        use_redis(url)
        yield url
        return
    with EmbeddedRedis() as server:
        use_redis(server.url)
        yield server.url


@pytest.fixture(scope="session")
def tiny_checkpoint_files(tmp_path_factory) -> dict[str, Path]:
    """Small randomly initialised checkpoints (a real TRM, untrained) made by the solver's command line."""
    folder = tmp_path_factory.mktemp("checkpoints")
    files = {}
    for kind in ("sudoku", "maze", "arc"):
        path = folder / f"tiny-{kind}.safetensors"
        subprocess.run(
            [sys.executable, "-m", "solver", "init", "--kind", kind, "--output", str(path),
             "--hidden-size", "32", "--num-heads", "2", "--H-cycles", "2", "--L-cycles", "2", "--seed", "1"],
            check=True, cwd=PROJECT_DIR,
        )
        files[kind] = path
    return files


@pytest.fixture
def active_checkpoints(transactional_db, tiny_checkpoint_files):
    """One active tiny checkpoint per kind, committed so that other processes see them."""
    from puzzles.services.checkpoints import checkpoint_register

    return {
        kind: checkpoint_register(path=path, name=f"tiny-{kind}", activate=True)
        for kind, path in tiny_checkpoint_files.items()
    }


@pytest.fixture(scope="session")
def stack(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    """A Celery worker and daphne serving the test database through Redis, for the whole session."""
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="trmweb.settings",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TRM_DEVICE="cpu",
        # The suite submits far more than one person would; the limits have tests of their own.
        TRM_SUBMIT_RATE_ANON="100000/min",
        TRM_MAX_ACTIVE_JOBS="1000",
        # A killed worker's job is taken over after this many seconds without a heartbeat.
        TRM_HEARTBEAT_STALE="5",
    )
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path_factory.mktemp("stack-logs")) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_rate_limits(redis_url):
    """Rate-limit counters live in Redis; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def slow_maze_file(tmp_path_factory) -> Path:
    """A maze TRM big enough that a solve takes seconds on a CPU, so it can be cancelled mid-way."""
    path = tmp_path_factory.mktemp("slow") / "slow-maze.safetensors"
    subprocess.run(
        [sys.executable, "-m", "solver", "init", "--kind", "maze", "--output", str(path),
         "--hidden-size", "128", "--num-heads", "4", "--seed", "2"],
        check=True, cwd=PROJECT_DIR,
    )
    return path
