"""A worker process killed in the middle of a job: the job is run again and its viewer sees every step
exactly once; a job that keeps killing its worker ends failed with a reason."""

import json
import signal

import psutil
import pytest
from websockets.sync.client import connect

from puzzles.models import SolveJob

pytestmark = pytest.mark.stack

MAZE = ["##########", "#S       #", "# ###### #", "#      #G#", "##########"]


def pool_child(stack) -> psutil.Process:
    """The prefork child that runs tasks for the stack's worker."""
    children = psutil.Process(stack.processes["worker"].pid).children()
    assert len(children) == 1, children
    return children[0]


def watch_slow_maze_solve(stack, steps: int, kill_when) -> tuple[dict, list[dict]]:
    """Submit a slow maze solve and read its stream, killing the worker's pool process whenever
    `kill_when(messages so far)` says so; the job and every message."""
    status, job = stack.request("POST", "/api/v1/jobs/",
                                {"kind": "maze", "puzzle": {"grid": MAZE}, "checkpoint": "slow-maze", "steps": steps})
    assert status == 202, job
    messages = []
    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        while not messages or messages[-1]["type"] != "status":
            messages.append(json.loads(socket.recv(timeout=120)))
            if kill_when(messages):
                pool_child(stack).send_signal(signal.SIGKILL)
    return job, messages


def test_a_job_whose_worker_is_killed_is_run_again_and_streamed_exactly_once(stack, slow_maze_checkpoint):
    job, messages = watch_slow_maze_solve(stack, 8, kill_when=lambda messages: len(messages) == 2)

    assert messages[-1]["status"] == "done"
    assert [m["step"] for m in messages[:-1]] == list(range(1, 9))
    saved = SolveJob.objects.get(id=job["id"])
    assert saved.attempts == 2
    assert list(saved.steps.values_list("number", flat=True)) == list(range(1, 9))


def test_a_job_that_keeps_killing_its_worker_ends_failed_with_a_reason(stack, slow_maze_checkpoint):
    # Every attempt dies after one new step.
    job, messages = watch_slow_maze_solve(stack, 12, kill_when=lambda messages: messages[-1]["type"] == "step")

    assert messages[-1]["status"] == "failed"
    assert "stopped its worker 2 times" in messages[-1]["error"]
    steps = [m["step"] for m in messages[:-1]]
    assert steps == list(range(1, len(steps) + 1))
    assert SolveJob.objects.get(id=job["id"]).status == "failed"


def test_a_damaged_checkpoint_fails_its_jobs_with_a_reason_and_the_worker_serves_others(
        stack, active_checkpoints, tiny_checkpoint_files, tmp_path):
    from puzzles.models import Checkpoint

    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(tiny_checkpoint_files["sudoku"].read_bytes()[:2000])
    good = active_checkpoints["sudoku"]
    Checkpoint.objects.create(name="damaged", kind="sudoku", path=str(damaged), content_hash="sha256:damaged",
                              variant=good.variant, parameters=good.parameters, halt_max_steps=16, trained=False)
    sudoku = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
    body = {"kind": "sudoku", "puzzle": {"grid": sudoku}, "steps": 2}

    _, broken_job = stack.request("POST", "/api/v1/jobs/", {**body, "checkpoint": "damaged"})
    _, fine_job = stack.request("POST", "/api/v1/jobs/", body)

    with connect(stack.ws_url + broken_job["stream"], open_timeout=10) as socket:
        final = json.loads(socket.recv(timeout=60))
    assert final["type"] == "status" and final["status"] == "failed"
    # The viewer is told which checkpoint failed and what to do; the server's path and the exception stay
    # in the worker's log.
    assert final["error"] == ("the checkpoint 'damaged' could not be loaded on the worker; choose another "
                              "checkpoint, or ask an operator to replace it")
    assert stack.request("GET", broken_job["url"])[1]["error"] == final["error"]
    assert "CheckpointError" in stack.log("worker") and str(damaged) in stack.log("worker")
    with connect(stack.ws_url + fine_job["stream"], open_timeout=10) as socket:
        messages = [json.loads(socket.recv(timeout=60)) for _ in range(3)]
    assert [m["type"] for m in messages] == ["step", "step", "status"] and messages[-1]["status"] == "done"
