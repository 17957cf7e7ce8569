"""A checkpoint whose file went missing after it was registered (a damaged one is in test_worker_faults.py):
its jobs fail with a reason that names the checkpoint (never the server's path, puzzles/job_errors.py), and
the worker goes on serving other jobs."""

import json
import shutil

import pytest
from websockets.sync.client import connect

from puzzles.services.checkpoints import checkpoint_register

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def final_messages(stack, job: dict, count: int) -> list[dict]:
    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        return [json.loads(socket.recv(timeout=60)) for _ in range(count)]


def test_a_missing_checkpoint_file_fails_its_jobs_with_a_reason_and_the_worker_serves_others(
        stack, active_checkpoints, tiny_checkpoint_files, tmp_path):
    vanishing = tmp_path / "vanishing.safetensors"
    shutil.copy(tiny_checkpoint_files["sudoku"], vanishing)
    checkpoint_register(path=vanishing, name="vanishing")
    vanishing.unlink()
    body = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2}

    _, lost_job = stack.request("POST", "/api/v1/jobs/", {**body, "checkpoint": "vanishing"})
    _, fine_job = stack.request("POST", "/api/v1/jobs/", body)

    [final] = final_messages(stack, lost_job, 1)
    assert final["type"] == "status" and final["status"] == "failed"
    assert "checkpoint 'vanishing' could not be loaded" in final["error"], final
    assert str(tmp_path) not in final["error"], final
    status, saved = stack.request("GET", lost_job["url"])
    assert status == 200 and saved["status"] == "failed" and saved["error"] == final["error"]

    messages = final_messages(stack, fine_job, 3)
    assert [m["type"] for m in messages] == ["step", "step", "status"] and messages[-1]["status"] == "done"
