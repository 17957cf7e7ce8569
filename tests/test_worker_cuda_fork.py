"""A worker started without -Q picks its queue in the parent process (trmweb/celery.py) before the prefork
pool forks; that choice must leave CUDA untouched there, or no pool process could ever use the GPU.

Each check runs in a fresh process, as the worker's parent is one: the hook, then a fork, as the pool does.
On a machine without CUDA the fork's GPU work is skipped (it then proves only that the hook picks `cpu`);
on a GPU machine the forked child computes on CUDA, which fails if the parent initialised it."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR

AFTER_THE_HOOK = """
import json, os
from trmweb.celery import device_queue_name
queue = device_queue_name()
import torch
seen = {"queue": queue, "initialised_in_parent": torch.cuda.is_initialized()}
pid = os.fork()
if pid == 0:
    try:
        if queue == "gpu":
            assert torch.ones(4, device="cuda").add_(1).sum().item() == 8.0
        os._exit(0)
    except Exception as error:
        print(json.dumps({"child_error": str(error)}), flush=True)
        os._exit(3)
_, status = os.waitpid(pid, 0)
seen["child_exit"] = os.waitstatus_to_exitcode(status)
print(json.dumps(seen), flush=True)
"""


def after_the_hook(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("TRM_DEVICE", "PYTORCH_NVML_BASED_CUDA_CHECK")}
    done = subprocess.run([sys.executable, "-c", AFTER_THE_HOOK], cwd=PROJECT_DIR, capture_output=True, text=True,
                          timeout=120, env={**base, "DJANGO_SECRET_KEY": "tests-only", **env})
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {key: value for line in lines for key, value in line.items()}


def cuda_devices() -> int:
    """Asked in a process of its own, so that this one stays as it was."""
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.device_count())"],
                          capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.strip())


def test_choosing_the_queue_leaves_cuda_uninitialised_in_the_parent():
    seen = after_the_hook()

    assert seen["initialised_in_parent"] is False
    assert seen["queue"] == ("gpu" if cuda_devices() else "cpu")
    assert seen["child_exit"] == 0, seen


def test_a_forked_pool_process_computes_on_the_gpu_after_the_hook():
    if not cuda_devices():
        pytest.skip("no CUDA device here: run on a GPU machine (the parent's hook then must not poison the fork)")

    seen = after_the_hook()

    assert seen["queue"] == "gpu"
    assert "child_error" not in seen and seen["child_exit"] == 0, seen


def test_trm_device_names_the_queue_without_asking_torch():
    assert after_the_hook(TRM_DEVICE="cuda")["queue"] == "gpu"
    assert after_the_hook(TRM_DEVICE="cpu")["queue"] == "cpu"
