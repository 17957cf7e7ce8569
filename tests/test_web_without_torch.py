"""The web process routes requests without torch: only workers (and the admin's upload check, lazily)
load a model. A real daphne serves the pages and API calls a visitor makes, and its memory map shows
whether torch's library was ever loaded into it."""

import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.stack

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
MAZE = ["#######", "#S    #", "# ### #", "#    G#", "#######"]


def torch_libraries(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {line.split()[-1] for line in maps.splitlines() if "libtorch" in line}


def test_daphne_serves_pages_and_the_api_without_loading_torch(stack, active_checkpoints):
    pages = ["/", "/api/v1/docs/"]
    for path in ("/api/v1/checkpoints/", "/api/v1/schema/?format=json", "/api/v1/examples/sudoku/",
                 "/api/v1/examples/maze/", "/api/v1/jobs/"):
        status, _ = stack.request("GET", path)
        assert status == 200, path
    for kind, puzzle in (("sudoku", {"grid": SUDOKU}), ("maze", {"grid": MAZE})):
        status, job = stack.request("POST", "/api/v1/jobs/", {"kind": kind, "puzzle": puzzle, "steps": 1})
        assert status == 202, job
        assert stack.request("GET", job["url"])[0] == 200
        pages.append(f"/jobs/{job['id']}/")
    for page in pages:
        with urllib.request.urlopen(stack.base_url + page, timeout=30) as response:
            assert response.status == 200, page
    status, refused = stack.request("POST", "/api/v1/jobs/", {"kind": "arc", "puzzle": {"train": [], "test": []},
                                                             "fit_steps": 10**6})
    assert status == 400, refused  # the fitting budget is checked on the web side, from solver.limits

    assert torch_libraries(stack.processes["web"].pid) == set()
    # The worker beside it has torch loaded (in its pool process at least): the check can see it.
    worker = psutil.Process(stack.processes["worker"].pid)
    assert any(torch_libraries(process.pid) for process in [worker, *worker.children(recursive=True)])
