"""Cancelling a running job and streaming finer frames, through the real worker and WebSocket."""

import json

import pytest
from websockets.sync.client import connect

from puzzles.models import SolveJob

pytestmark = pytest.mark.stack

MAZE = ["##########", "#S       #", "# ###### #", "#      #G#", "##########"]
SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def test_a_running_job_cancelled_by_its_owner_stops_between_steps(stack, active_checkpoints, slow_maze_checkpoint):
    owner = stack.client()
    status, job = owner.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": MAZE}, "checkpoint": "slow-maze"})
    assert status == 202, job

    received = []
    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        while True:
            message = json.loads(socket.recv(timeout=120))
            received.append(message)
            if message["type"] == "step" and message["step"] == 1:
                code, cancelled = owner.request("POST", f"{job['url']}cancel/")
                assert code == 200, cancelled
            if message["type"] == "status":
                break

    steps = [m["step"] for m in received if m["type"] == "step"]
    assert received[-1]["status"] == "cancelled"
    assert steps == list(range(1, len(steps) + 1)) and len(steps) < 16
    saved = SolveJob.objects.get(id=job["id"])
    assert saved.status == "cancelled"
    assert saved.steps.count() == len(steps)


def test_frames_stream_the_answer_after_each_h_cycle(stack, active_checkpoints):
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2, "frames": True})
    assert status == 202 and job["frames"] is True

    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        messages = []
        while not messages or messages[-1]["type"] != "status":
            messages.append(json.loads(socket.recv(timeout=60)))

    steps = [m for m in messages if m["type"] == "step"]
    assert len(steps) == 2
    for step in steps:
        assert len(step["frames"]) == 2  # the tiny checkpoints run 2 H cycles per step
        assert step["frames"][-1] == step["grid"]  # the last H cycle's answer is the step's answer


def test_a_viewer_that_reconnects_mid_solve_sees_every_step_exactly_once(stack, slow_maze_checkpoint):
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": MAZE}, "checkpoint": "slow-maze", "steps": 8})
    assert status == 202

    seen = []
    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        while len(seen) < 2:
            seen.append(json.loads(socket.recv(timeout=60))["step"])
    # Gone for a while: steps go on being computed and saved meanwhile.
    with connect(stack.ws_url + job["stream"] + f"?after={seen[-1]}", open_timeout=10) as socket:
        while True:
            message = json.loads(socket.recv(timeout=120))
            if message["type"] == "status":
                break
            seen.append(message["step"])

    assert message["status"] == "done"
    assert seen == list(range(1, 9))
