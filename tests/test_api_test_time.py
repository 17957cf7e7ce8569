"""Test-time compute through the API and a real worker: depth past training, samples, views, halting."""

import json
import time

import pytest
from websockets.sync.client import connect

from puzzles.models import SolveJob
from solver.checkpoint import load_checkpoint
from solver.codecs import codec_for
from solver.thinking import think_steps

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def finished(job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        job = SolveJob.objects.get(id=job_id)
        if job.is_finished:
            return job
        assert time.monotonic() < deadline, job.status
        time.sleep(0.3)


def test_samples_and_views_stream_their_trajectories_and_match_the_solver(stack, active_checkpoints):
    checkpoint = active_checkpoints["sudoku"]
    trained = checkpoint.halt_max_steps
    body = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": trained + 2, "samples": 2, "views": 3, "seed": 7}
    status, job = stack.request("POST", "/api/v1/jobs/", body)
    assert status == 202, job
    assert (job["samples"], job["views"], job["seed"], job["halt_threshold"]) == (2, 3, 7, None)
    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        messages = []
        while not messages or messages[-1]["type"] != "status":
            messages.append(json.loads(socket.recv(timeout=60)))
    steps = [m for m in messages if m["type"] == "step"]
    assert [m["step"] for m in steps] == list(range(1, trained + 3))  # past the trained steps
    assert messages[-1]["status"] == "done"
    for message in steps:
        assert len(message["trajectories"]) == 6
        assert {(t["sample"], t["view"]) for t in message["trajectories"]} == {(s, v) for s in range(2) for v in range(3)}
        assert message["trajectories"][message["chosen"]]["grid"] == message["grid"]
        assert message["agreeing"] == sum(t["grid"] == message["grid"] for t in message["trajectories"])

    # the same answers as the solver gives this puzzle with the same options alone
    model, config = load_checkpoint(checkpoint.path)
    codec = codec_for("sudoku", config.seq_len)
    grid = codec.from_json(SUDOKU)
    alone = list(think_steps(model, "sudoku", [grid], codec.encode_batch([grid]), steps=trained + 2, samples=2,
                             views=3, seed=7))
    assert [codec.decode(s.tokens[0]) for s in alone] == [m["grid"] for m in steps]
    saved = SolveJob.objects.get(id=job["id"]).steps.order_by("number")
    assert [s.trajectories for s in saved] == [m["trajectories"] for m in steps]


def test_a_job_with_halting_stops_where_its_halting_head_says(stack, active_checkpoints):
    # The stand-in's halting head says the same at every step (its q_head is at its start value), so a
    # threshold just under that stops at step 1 and one just over it never stops. The solver's own tests
    # (tests/solver/test_thinking.py) stop rows at varying steps.
    checkpoint = active_checkpoints["sudoku"]
    assert checkpoint.halt_max_steps < 20  # so 20 steps are past training, and were accepted
    _, full = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 20})
    full_steps = list(finished(full["id"]).steps.order_by("number"))
    probability = full_steps[0].halt_prob
    assert len(full_steps) == 20 and full["halt_threshold"] is None

    for threshold, expected in ((probability * 0.9, 1), (min(0.99, probability * 1.1), 20)):
        _, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 20,
                                                         "halt": threshold})
        done = finished(job["id"])
        assert done.status == "done", done.error
        assert done.steps.count() == expected
        assert done.result["stopped_by_halting"] is (expected < 20) and done.result["steps"] == expected
        assert done.result["grid"] == full_steps[expected - 1].grid
        _, detail = stack.request("GET", f"/api/v1/jobs/{job['id']}/")
        assert detail["halt_threshold"] == threshold and detail["steps_done"] == expected
