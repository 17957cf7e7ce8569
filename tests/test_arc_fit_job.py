"""An ARC task drawn by hand travels the real stack: the worker fits its puzzle embedding, solves it under
augmentations and votes, and the WebSocket delivers each phase in order, live and on replay."""

import json

import pytest
from websockets.sync.client import connect

from puzzles.messages import without_delivery_times
from puzzles.models import SolveJob
from tests.test_end_to_end import SUDOKU, read_stream

pytestmark = pytest.mark.stack

TASK = {"train": [{"input": [[1, 0], [0, 2]], "output": [[0, 1], [2, 0]]}],
        "test": [{"input": [[3, 0], [0, 4]]}, {"input": [[5]]}]}
OPTIONS = {"augmentations": 2, "fit_steps": 3, "steps": 2}


def submit(stack, **overrides):
    return stack.request("POST", "/api/v1/jobs/", {"kind": "arc", "puzzle": TASK, **OPTIONS, **overrides})


def shape(messages: list[dict]) -> list[tuple]:
    """What each message is, in order: (type, phase or step, augmentation)."""
    return [(m["type"], m.get("phase", m.get("step")), m.get("augmentation")) for m in messages]


EXPECTED = [
    ("phase", "fit", None), ("fit", 1, None), ("fit", 2, None), ("fit", 3, None),
    ("phase", "solve", None),
    ("step", 1, None), ("aug_step", 1, 0), ("aug_step", 1, 1),
    ("step", 2, None), ("aug_step", 2, 0), ("aug_step", 2, 1),
    ("vote", None, None), ("status", None, None),
]


def test_a_task_drawn_by_hand_streams_fit_steps_vote_and_status_in_order(stack, active_checkpoints):
    status, job = submit(stack)
    assert status == 202, job
    assert job["fit_steps"] == 3 and job["augmentations"] == 2

    live = read_stream(stack.ws_url + job["stream"])

    assert shape(live) == EXPECTED
    fits = [m for m in live if m["type"] == "fit"]
    assert all(m["loss"] > 0 and 0 <= m["accuracy"] <= 1 for m in fits)
    events = [m for m in live if "seq" in m]
    assert [m["seq"] for m in events] == list(range(1, len(events) + 1))
    augmented = [m for m in live if m["type"] == "aug_step"]
    assert augmented[0]["transform"] == {"dihedral": 0, "colours": list(range(10))}  # the identity comes first
    assert augmented[1]["input"] != TASK["test"][0]["input"]  # an augmented view of the first test input
    assert all(("input" in m) == (m["step"] == 1) for m in augmented)
    assert all(len(m["grids"]) == 2 for m in augmented)  # both test inputs, mapped back
    vote = live[-2]
    assert [len(test["candidates"]) >= 1 for test in vote["tests"]] == [True, True]
    assert all(sum(c["count"] for c in test["candidates"]) == 2 for test in vote["tests"])
    assert vote["attempts"] == vote["tests"][0]["attempts"] and vote["fitted"] is True
    assert set(vote["timings"]) == {"fit", "solve", "vote"}
    final = live[-1]
    assert final["status"] == "done"
    assert final["result"]["attempts"] == [test["attempts"] for test in vote["tests"]]
    assert final["result"]["grid"] == vote["attempts"][0]


def test_a_late_viewer_gets_the_same_stream_from_the_database(stack, active_checkpoints):
    status, job = submit(stack)
    assert status == 202, job
    live = read_stream(stack.ws_url + job["stream"])

    replay = read_stream(stack.ws_url + job["stream"])

    assert [without_delivery_times(m) for m in replay] == [without_delivery_times(m) for m in live]
    resumed = read_stream(stack.ws_url + job["stream"] + "?after=1")
    assert shape(resumed) == [("aug_step", 1, 0), ("aug_step", 1, 1), *EXPECTED[8:]]


def test_a_job_cancelled_while_fitting_stops_there(stack, active_checkpoints):
    owner = stack.client()
    status, job = owner.request("POST", "/api/v1/jobs/", {"kind": "arc", "puzzle": TASK, "fit_steps": 500, "steps": 2})
    assert status == 202, job

    received = []
    with connect(stack.ws_url + job["stream"], open_timeout=10) as socket:
        while True:
            message = json.loads(socket.recv(timeout=120))
            received.append(message)
            if message["type"] == "fit" and message["step"] == 1:  # the first update is always reported
                code, cancelled = owner.request("POST", f"{job['url']}cancel/")
                assert code == 200, cancelled
            if message["type"] == "status":
                break

    assert received[-1]["status"] == "cancelled"
    assert {m["type"] for m in received} <= {"phase", "fit", "status"}  # no solve, no vote
    saved = SolveJob.objects.get(id=job["id"])
    assert saved.status == "cancelled" and saved.steps.count() == 0
    assert saved.events.filter(key__startswith="fit:").count() < 500


@pytest.mark.parametrize("body, where, words", [
    ({"augmentations": 65}, "augmentations", "between 1 and 64"),
    ({"fit_steps": 501}, "fit_steps", "between 0 and 500"),
    ({"fit_steps": -1}, "fit_steps", "between 0 and 500"),
])
def test_budgets_outside_the_limits_are_refused_with_a_400(stack, active_checkpoints, body, where, words):
    status, answer = submit(stack, **body)
    assert status == 400
    assert words in " ".join(answer["detail"][where])


def test_fitting_options_are_refused_for_other_kinds(stack, active_checkpoints):
    status, answer = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU},
                                                             "fit_steps": 3})
    assert status == 400
    assert "only ARC jobs are fitted" in " ".join(answer["detail"]["fit_steps"])


@pytest.mark.parametrize("width, scheme", [(1100, "light"), (390, "dark")])
def test_the_job_page_shows_the_loss_curve_the_views_and_the_vote(stack, active_checkpoints, page, width, scheme):
    status, job = submit(stack)
    assert status == 202, job
    errors, sockets = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.set_viewport_size({"width": width, "height": 800})
    page.emulate_media(color_scheme=scheme)

    page.goto(f"{stack.base_url}/jobs/{job['id']}/")

    panel = page.locator("#arc-fit")
    panel.locator(".arc-fit-vote figure").first.wait_for(timeout=60_000)
    assert panel.locator(".arc-fit-chart svg polyline").count() == 2  # loss and accuracy
    assert "Fitting loss from" in panel.locator(".arc-fit-chart").get_attribute("aria-label")
    assert panel.locator(".arc-fit-views figure").count() == 2
    assert panel.locator(".arc-fit-views figcaption").first.inner_text().startswith("View 1: as drawn")
    assert "Attempt 1" in panel.locator(".arc-fit-vote figcaption").first.inner_text()
    assert page.locator("#arc-fit section").count() == 2  # one vote per test input
    assert "2 views voted" in panel.locator(".arc-fit-phase").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing overflows a phone
    assert errors == []
    assert len(sockets) == 1  # steps and the fit's phases share the page's one stream


def test_the_fit_panel_stays_hidden_for_other_kinds(stack, active_checkpoints, page):
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 1})
    assert status == 202, job
    page.goto(f"{stack.base_url}/jobs/{job['id']}/")
    page.locator("#job-status", has_text="done").wait_for(timeout=60_000)
    assert page.locator("#arc-fit").is_hidden()


def test_a_task_the_checkpoint_knows_keeps_its_learned_rows_through_the_worker(stack, active_checkpoints):
    from puzzles.services.checkpoints import checkpoint_register
    from solver.checkpoint import checkpoint_info
    from tests.conftest import PROJECT_DIR

    path = PROJECT_DIR / "solver" / "demo" / "arc.safetensors"
    names = checkpoint_info(path)["provenance"]["puzzle_identifiers"]
    demo = checkpoint_register(path=path, name="demo-arc-known")
    # The row keeps the count of the checkpoint's identifier names; the worker reads the names from the file.
    assert demo.info["provenance"]["puzzle_identifiers"] == f"{len(names)} names, in the file"
    known = next(name for name in names if name != "<blank>" and "|||" not in name)  # a task it was trained on
    drawn = json.loads((PROJECT_DIR / "bench" / "arc_drawn" / "mirror-left-right.json").read_text())
    task = {"task": known, "train": drawn["train"], "test": [{"input": pair["input"]} for pair in drawn["test"]]}

    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "arc", "puzzle": task, "checkpoint": demo.name,
                                                           "augmentations": 2})
    assert status == 202, job
    live = read_stream(stack.ws_url + job["stream"])

    assert [m["type"] for m in live if m["type"] in ("fit", "phase")] == ["phase"]  # straight to solving
    vote = next(m for m in live if m["type"] == "vote")
    assert vote["fitted"] is False and vote["augmentations"] == 2
    assert live[-1]["status"] == "done"
