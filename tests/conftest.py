"""Fixtures shared by the suite: a real Redis for every session, and on demand the real stack
(a Celery worker and daphne as separate processes) on the test database."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
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


@pytest.fixture(scope="session")
def reference_files(tmp_path_factory, tiny_checkpoint_files) -> tuple[Path, Path]:
    """A reference-format `step_100` and its all_config.yaml, written by `python -m solver convert`."""
    folder = tmp_path_factory.mktemp("reference")
    subprocess.run([sys.executable, "-m", "solver", "convert", str(tiny_checkpoint_files["sudoku"]), str(folder / "step_100")],
                   check=True, cwd=PROJECT_DIR, capture_output=True)
    return folder / "step_100", folder / "all_config.yaml"


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """Uploaded checkpoints go to a folder of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def active_checkpoints(transactional_db, tiny_checkpoint_files):
    """One active tiny checkpoint per kind, committed so that other processes see them."""
    from puzzles.services.checkpoints import checkpoint_register

    return {
        kind: checkpoint_register(path=path, name=f"tiny-{kind}", activate=True)
        for kind, path in tiny_checkpoint_files.items()
    }


# A queue that no worker of the suite consumes (they serve TRM_SOLVE_QUEUE's default).
UNCONSUMED_QUEUE = "gpu"


@pytest.fixture
def jobs_stay_queued(settings, redis_url):
    """Jobs submitted in this process go to a queue no worker consumes, so they stay unfinished.

    The session `stack` may be running: its worker would otherwise take a committed job (active_checkpoints
    commits) and finish it in a second, and a test that counts unfinished jobs would count fewer.
    """
    from trmweb.redis_databases import redis_databases

    settings.TRM_SOLVE_QUEUE = UNCONSUMED_QUEUE
    broker = redis.Redis.from_url(redis_databases(redis_url).broker)
    broker.delete(UNCONSUMED_QUEUE)
    yield UNCONSUMED_QUEUE
    broker.delete(UNCONSUMED_QUEUE)
    broker.close()


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
        # A killed worker's job is taken over after this many seconds without a heartbeat. Its sweep sees
        # the whole test database, other stacks' jobs too: a stack whose steps run long sets the same, so
        # that its heartbeat beats at that pace.
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


@pytest.fixture
def slow_maze_checkpoint(active_checkpoints, slow_maze_file):
    """The slow maze TRM registered (not active) as `slow-maze`."""
    from puzzles.services.checkpoints import checkpoint_register

    return checkpoint_register(path=slow_maze_file, name="slow-maze")


@pytest.fixture
def slowest_maze_checkpoint(active_checkpoints, tmp_path):
    """A maze TRM whose solve takes half a minute on a CPU (about 2 s a step), registered as `slowest-maze`:
    for a page that must find the job still running after loading (cancelling stops it between steps, so
    the test pays only for the first steps)."""
    from puzzles.services.checkpoints import checkpoint_register

    path = tmp_path / "slowest-maze.safetensors"
    subprocess.run(
        [sys.executable, "-m", "solver", "init", "--kind", "maze", "--output", str(path),
         "--hidden-size", "512", "--num-heads", "8", "--seed", "3"],
        check=True, cwd=PROJECT_DIR,
    )
    return checkpoint_register(path=path, name="slowest-maze")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is needed for the browser tests: install Debian's `chromium` package")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse the
    # (synchronous, single-threaded) database work of the fixtures; nothing here is really concurrent.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    context.close()
