"""A solve travels the whole real path: REST → database → Redis → Celery worker → channel layer → WebSocket.

The worker runs a real TRM (small and randomly initialised, so untrained: its answers are not solutions).
That it ran the submitted puzzle through that model is checked by solving the same puzzle with the
solver's command line in this process and comparing every step.
"""

import json
import subprocess
import sys

import pytest
from websockets.sync.client import connect

from puzzles.models import SolveJob

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def read_stream(url: str, origin: str | None = None) -> list[dict]:
    """Every message of a job's stream until its final status."""
    messages = []
    with connect(url, origin=origin, open_timeout=10) as socket:
        while True:
            message = json.loads(socket.recv(timeout=120))
            messages.append(message)
            if message["type"] == "status":
                return messages


def solver_cli_steps(checkpoint_path, kind: str, puzzle_text: str, steps: int, tmp_path) -> list[dict]:
    puzzle_file = tmp_path / "puzzle.txt"
    puzzle_file.write_text(puzzle_text)
    printed = subprocess.run(
        [sys.executable, "-m", "solver", "solve", "--checkpoint", str(checkpoint_path), "--kind", kind,
         "--input", str(puzzle_file), "--steps", str(steps), "--format", "jsonl"],
        check=True, capture_output=True, text=True,
    ).stdout
    return [json.loads(line) for line in printed.splitlines() if line.strip()]


def test_sudoku_job_streams_every_step_in_order_and_ends_done(stack, active_checkpoints, tiny_checkpoint_files, tmp_path):
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 5})
    assert status == 202, job
    assert job["status"] in ("queued", "running")  # an idle worker may have taken it before the answer was written
    assert job["url"] == f"/api/v1/jobs/{job['id']}/"
    assert job["stream"] == f"/ws/jobs/{job['id']}/"

    messages = read_stream(stack.ws_url + job["stream"], origin=stack.base_url)

    steps = [m for m in messages if m["type"] == "step"]
    assert [m["step"] for m in steps] == [1, 2, 3, 4, 5]
    assert messages[-1] == {"type": "status", "status": "done", "result": messages[-1]["result"]}
    for message in steps:
        assert len(message["grid"]) == 9 and all(len(row) == 9 for row in message["grid"])
        assert 0.0 <= message["halt_prob"] <= 1.0

    expected = solver_cli_steps(tiny_checkpoint_files["sudoku"], "sudoku", SUDOKU, 5, tmp_path)
    assert [m["grid"] for m in steps] == [line["grid"] for line in expected]

    status, final = stack.request("GET", job["url"])
    assert status == 200
    assert final["status"] == "done"
    assert final["steps_done"] == 5
    assert final["result"]["grid"] == steps[-1]["grid"]
    status, saved = stack.request("GET", f"{job['url']}steps/")
    assert [row["step"] for row in saved] == [1, 2, 3, 4, 5]
    assert [row["grid"] for row in saved] == [m["grid"] for m in steps]


def test_a_late_viewer_gets_the_saved_steps_after_n_then_the_status(stack, active_checkpoints):
    maze = ["#######", "#S    #", "# ### #", "#   #G#", "#######"]
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": maze}, "steps": 3})
    assert status == 202, job
    read_stream(stack.ws_url + job["stream"])  # wait for the end

    replay = read_stream(stack.ws_url + job["stream"] + "?after=1")

    assert [m.get("step") for m in replay] == [2, 3, None]
    assert replay[-1]["status"] == "done"
    assert all(len(m["grid"]) == len(maze) and len(m["grid"][0]) == len(maze[0]) for m in replay[:-1])


def test_arc_job_runs_each_test_input(stack, active_checkpoints):
    task = {
        "train": [{"input": [[1, 0], [0, 0]], "output": [[1, 1], [1, 1]]}],
        "test": [{"input": [[0, 2], [0, 0]]}, {"input": [[3]]}],
    }
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "arc", "puzzle": task, "steps": 2})
    assert status == 202, job

    messages = read_stream(stack.ws_url + job["stream"])

    assert messages[-1]["status"] == "done"
    assert len(messages[-1]["result"]["grids"]) == 2


def test_a_browser_page_of_another_site_cannot_open_the_stream(stack, active_checkpoints):
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 1})
    assert status == 202

    with pytest.raises(Exception) as refused:
        read_stream(stack.ws_url + job["stream"], origin="http://evil.example")

    assert "403" in str(refused.value)


def test_twenty_clients_submitting_at_once_all_get_their_job(stack, active_checkpoints):
    from concurrent.futures import ThreadPoolExecutor

    body = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 1}
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: stack.request("POST", "/api/v1/jobs/", body), range(20)))

    assert [status for status, _ in answers] == [202] * 20, [job for _, job in answers if "error" in job]
    assert SolveJob.objects.filter(id__in=[job["id"] for _, job in answers]).count() == 20


def test_a_worker_without_q_consumes_the_queue_of_its_device(stack):
    # The stack's worker runs with TRM_DEVICE=cpu and no -Q.
    assert ".> cpu " in stack.log("worker")
    assert ".> celery " not in stack.log("worker")


def test_a_maze_model_on_a_smaller_field_solves_through_the_worker(stack, active_checkpoints, tmp_path):
    from puzzles.services.checkpoints import checkpoint_register

    path = tmp_path / "maze10.safetensors"
    subprocess.run([sys.executable, "-m", "solver", "init", "--kind", "maze", "--field", "10", "--output", str(path),
                    "--hidden-size", "32", "--num-heads", "2", "--H-cycles", "2", "--L-cycles", "2", "--seed", "2"],
                   check=True, capture_output=True)
    checkpoint_register(path=path, name="maze-field-10")
    maze = ["#########", "#S      #", "# ##### #", "#   G   #", "#########"]
    status, job = stack.request("POST", "/api/v1/jobs/",
                                {"kind": "maze", "puzzle": {"grid": maze}, "checkpoint": "maze-field-10", "steps": 2})
    assert status == 202, job

    steps = [m for m in read_stream(stack.ws_url + job["stream"]) if m["type"] == "step"]

    expected = solver_cli_steps(path, "maze", "\n".join(maze) + "\n", 2, tmp_path)
    assert [m["grid"] for m in steps] == [line["grid"] for line in expected]
    assert all(len(line["tokens"]) == 100 for line in expected)  # the model's own 10x10 field
