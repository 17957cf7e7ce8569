"""A worker loads the active checkpoints as it starts (puzzles/tasks.py), so its first job finds them in the
cache instead of loading one; with TRM_PRELOAD_CHECKPOINTS=0 the first job loads its own."""

import os
import re

import pytest
from django.conf import settings

from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, private_redis_url

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
LOADED = re.compile(r"loaded checkpoint (\S+) on cpu")


def start_stack(redis_url, tmp_path, **env) -> Stack:
    full_env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url_for_subprocess(), REDIS_URL=private_redis_url(redis_url, 3), TRM_DEVICE="cpu",
        **env,
    )
    return Stack(env=full_env, cwd=PROJECT_DIR, log_dir=tmp_path)


def solve_one(stack: Stack) -> None:
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})
    assert status == 202, job
    stack.wait_until(lambda: stack.request("GET", job["url"])[1]["status"] == "done", 60, "the job to end")


def test_a_worker_loads_the_active_checkpoints_as_it_starts(active_checkpoints, redis_url, tmp_path):
    with start_stack(redis_url, tmp_path) as stack:
        stack.wait_until(lambda: "preloaded 3 active checkpoints" in stack.log("worker"), 60, "the preload")
        assert "preloaded 3 active checkpoints (tiny-arc, tiny-maze, tiny-sudoku)" in stack.log("worker")
        loaded_at_start = LOADED.findall(stack.log("worker"))
        assert sorted(loaded_at_start) == sorted(f"{c.path.rsplit('/', 1)[-1]}" for c in active_checkpoints.values())

        solve_one(stack)
        assert LOADED.findall(stack.log("worker")) == loaded_at_start  # the job loaded nothing


def test_without_preloading_the_first_job_loads_its_checkpoint(active_checkpoints, redis_url, tmp_path):
    with start_stack(redis_url, tmp_path, TRM_PRELOAD_CHECKPOINTS="0") as stack:
        assert LOADED.findall(stack.log("worker")) == []
        solve_one(stack)
        assert LOADED.findall(stack.log("worker")) == [active_checkpoints["sudoku"].path.rsplit("/", 1)[-1]]
