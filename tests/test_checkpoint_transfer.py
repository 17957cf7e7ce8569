"""Checkpoints travel to workers that share no disk with the web (puzzles/services/checkpoint_transfer.py).

The fleet tests run the worker inside a private mount namespace (`unshare -m`) with an empty tmpfs over the
folder that holds the web's checkpoint files, so it cannot see them; it shares only the database, Redis and
the web's URL, as a worker on another machine does.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

from puzzles.services.checkpoint_transfer import (CheckpointFetchError, cache_make_room, digest_of,
                                                  worker_credential)
from puzzles.services.checkpoints import checkpoint_register
from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, private_redis_url

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def file_url(checkpoint) -> str:
    return f"/api/v1/worker/checkpoints/{digest_of(checkpoint.content_hash)}/file"


# ------------------------------------------------------------------------------------- the web's side


def test_the_file_is_served_only_for_a_worker_credential(client, db, tiny_checkpoint_files, tmp_path):
    source = tmp_path / "served.safetensors"
    shutil.copy(tiny_checkpoint_files["sudoku"], source)
    checkpoint = checkpoint_register(path=source, name="served")

    for authorization in ("", "Bearer x", f"TRM-Worker {worker_credential('sha256:' + '0' * 64)}"):
        refused = client.get(file_url(checkpoint), HTTP_AUTHORIZATION=authorization)
        assert refused.status_code == 403 and "workers only" in refused.json()["detail"], authorization

    served = client.get(file_url(checkpoint), HTTP_AUTHORIZATION=f"TRM-Worker {worker_credential(checkpoint.content_hash)}")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == source.read_bytes()

    unknown = "sha256:" + "ab" * 32
    missing = client.get(f"/api/v1/worker/checkpoints/{digest_of(unknown)}/file",
                         HTTP_AUTHORIZATION=f"TRM-Worker {worker_credential(unknown)}")
    assert missing.status_code == 404 and missing.json()["detail"].startswith("no checkpoint has")


def test_the_cache_drops_the_least_recently_used_files_to_make_room(settings, tmp_path):
    settings.TRM_CHECKPOINT_CACHE, settings.TRM_CHECKPOINT_CACHE_BYTES = tmp_path, 300
    for age, name in enumerate(("old", "middle", "new")):
        (tmp_path / f"{name}.safetensors").write_bytes(b"x" * 100)
        os.utime(tmp_path / f"{name}.safetensors", (1000 + age, 1000 + age))

    cache_make_room(150, keep=tmp_path / "incoming.safetensors")
    assert sorted(f.stem for f in tmp_path.glob("*.safetensors")) == ["new"]
    with pytest.raises(CheckpointFetchError, match="more than this worker's cache holds"):
        cache_make_room(301, keep=tmp_path / "incoming.safetensors")


# ------------------------------------------------------------------------------------ a worker elsewhere


class FarWorkerStack(Stack):
    """A stack whose worker cannot see `hidden` (an empty tmpfs over it in its own mount namespace)."""

    def __init__(self, *, hidden, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden

    def start_worker(self, name: str = "worker") -> None:
        command = [sys.executable, "-m", "celery", "-A", "trmweb", "worker", "--concurrency", "1", "--loglevel", "INFO",
                   "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"]
        self._start(name, ["unshare", "-m", "--propagation", "private", "sh", "-c",
                           f'mount -t tmpfs tmpfs "{self.hidden}" && exec "$@"', "sh", *command])


@pytest.fixture
def far_worker(django_db_setup, django_db_blocker, redis_url, tmp_path):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare and root for a private mount namespace")
    web_files, cache = tmp_path / "web-files", tmp_path / "worker-cache"
    web_files.mkdir()
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url, REDIS_URL=private_redis_url(redis_url, 4), TRM_DEVICE="cpu",
               TRM_CHECKPOINT_CACHE=str(cache))
    stack = FarWorkerStack(hidden=web_files, env=env, cwd=PROJECT_DIR, log_dir=tmp_path)
    stack.env["TRM_WEB_URL"] = stack.base_url
    with stack:
        yield stack, web_files, cache


def submit_and_wait(stack, checkpoint_name: str) -> dict:
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2,
                                                         "checkpoint": checkpoint_name})
    assert status == 202, job
    stack.wait_until(lambda: stack.request("GET", job["url"])[1]["status"] in ("done", "failed"), 90, "the job")
    return stack.request("GET", job["url"])[1]


@pytest.mark.stack
def test_a_worker_that_cannot_see_the_file_fetches_it_from_the_web(far_worker, transactional_db, tiny_checkpoint_files):
    stack, web_files, cache = far_worker
    source = web_files / "added-after-start.safetensors"
    shutil.copy(tiny_checkpoint_files["sudoku"], source)
    checkpoint = checkpoint_register(path=source, name="added-after-start")  # the worker runs already

    job = submit_and_wait(stack, "added-after-start")

    assert job["status"] == "done", job
    log = stack.log("worker")
    assert f"fetched checkpoint {checkpoint.content_hash}" in log
    fetched = cache / f"{digest_of(checkpoint.content_hash)}.safetensors"
    assert fetched.read_bytes() == source.read_bytes()
    assert not list(cache.glob("*.partial-*"))
    # a second job uses the cached file: no second fetch
    assert submit_and_wait(stack, "added-after-start")["status"] == "done"
    assert stack.log("worker").count("fetching checkpoint") == 1


@pytest.mark.stack
def test_a_fetched_file_whose_hash_differs_is_never_used(far_worker, transactional_db, tiny_checkpoint_files, tmp_path):
    stack, web_files, cache = far_worker
    source = web_files / "replaced.safetensors"
    shutil.copy(tiny_checkpoint_files["sudoku"], source)
    checkpoint = checkpoint_register(path=source, name="replaced")
    # The web's file changes under the row (other weights, same kind): the row's hash no longer matches it.
    subprocess.run([sys.executable, "-m", "solver", "init", "--kind", "sudoku", "--hidden-size", "32", "--num-heads", "2",
                    "--seed", "7", "--output", str(source)], cwd=PROJECT_DIR, check=True, capture_output=True)

    job = submit_and_wait(stack, "replaced")

    assert job["status"] == "failed"
    assert job["error"].startswith("the checkpoint 'replaced' could not be loaded on the worker"), job
    assert f"not {checkpoint.content_hash}; it was not used" in stack.log("worker")
    assert list(cache.glob("*")) == [cache / f"{digest_of(checkpoint.content_hash)}.lock"]
    assert json.loads(json.dumps(job))["steps_done"] == 0
