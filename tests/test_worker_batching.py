"""Dynamic batching: jobs of one checkpoint queued together share one forward pass per step."""

import json
import time

import pytest
from websockets.sync.client import connect

from puzzles.models import SolveJob

pytestmark = pytest.mark.stack

MAZE = ["##########", "#S       #", "# ###### #", "#      #G#", "##########"]
SUDOKUS = [
    "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3..",
    "2...8.3...6..7..84.3.5..2.9...1.54.8.........4.27.6...3.1..7.4.72..4..6...4.1...3",
]


def wait_until_finished(job_ids, timeout=120):
    deadline = time.monotonic() + timeout
    while SolveJob.objects.filter(id__in=job_ids).exclude(status="done").exists():
        assert time.monotonic() < deadline, list(SolveJob.objects.filter(id__in=job_ids).values_list("status", flat=True))
        time.sleep(0.3)


def test_jobs_queued_together_run_as_one_batch_with_the_same_answers_as_alone(stack, active_checkpoints, slow_maze_checkpoint):
    _, busy = stack.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": MAZE}, "checkpoint": "slow-maze", "steps": 6})
    with connect(stack.ws_url + busy["stream"], open_timeout=10) as socket:
        json.loads(socket.recv(timeout=60))  # the worker is now busy with the maze
        queued = [stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKUS[i % 2]}, "steps": 3})[1]["id"]
                  for i in range(8)]
    wait_until_finished(queued)

    jobs = list(SolveJob.objects.filter(id__in=queued))
    assert {job.result["batch_size"] for job in jobs} == {8}
    assert all(job.attempts == 1 for job in jobs)
    assert all(job.steps.count() == 3 for job in jobs)

    _, alone = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKUS[1]}, "steps": 3})
    wait_until_finished([alone["id"]])
    alone_job = SolveJob.objects.get(id=alone["id"])
    assert alone_job.result["batch_size"] == 1
    batched_same_puzzle = next(job for job in jobs if job.puzzle.data == alone_job.puzzle.data)
    assert batched_same_puzzle.result["grid"] == alone_job.result["grid"]
