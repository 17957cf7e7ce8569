"""Steps the channel layer never delivers: a viewer still gets every step exactly once, 1..N in order, then
the status; and the job page holds no step twice after a reconnect.

The worker here drops the publishes of step 3, of the last step, of an ARC job's second event and of the final status
(TRM_TEST_DROP_PUBLISH, puzzles/services/publishing.py), as a failed publish or a worker killed between its commit
and its publish would; a second test also kills the worker mid-job, so that the job is taken over by a
worker that does not publish the steps saved before it.
"""

import json
import os
import signal
import time

import psutil
import pytest
from django.conf import settings
from websockets.sync.client import connect

from puzzles.models import SolveJob
from tests.conftest import PROJECT_DIR
from tests.stack import Stack, database_url_for_subprocess, private_redis_url
from tests.test_arc_fit_job import EXPECTED as ARC_STREAM
from tests.test_arc_fit_job import OPTIONS as ARC_OPTIONS
from tests.test_arc_fit_job import TASK as ARC_TASK
from tests.test_arc_fit_job import shape

pytestmark = pytest.mark.stack

MAZE = ["##########", "#S       #", "# ###### #", "#      #G#", "##########"]
STEPS = 8
DROPPED = f"3,{STEPS},event:2,status"


@pytest.fixture(scope="module")
def lossy_stack(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    """A worker whose publishes of step 3, step 8, event 2 and the status never reach the channel layer."""
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
        DATABASE_URL=database_url, REDIS_URL=private_redis_url(redis_url, 1), TRM_DEVICE="cpu",
        TRM_SUBMIT_RATE_ANON="100000/min", TRM_MAX_ACTIVE_JOBS="1000", TRM_HEARTBEAT_STALE="5",
        TRM_TEST_DROP_PUBLISH=DROPPED, TRM_STREAM_RECHECK_SECONDS="2",
    )
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path_factory.mktemp("lossy-stack")) as running:
        yield running


def submit_slow_maze(stack) -> dict:
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": MAZE},
                                                          "checkpoint": "slow-maze", "steps": STEPS})
    assert status == 202, job
    return job


def read_to_status(socket, on_message=lambda messages: None) -> list[dict]:
    messages = []
    while not messages or messages[-1]["type"] != "status":
        messages.append(json.loads(socket.recv(timeout=120)))
        on_message(messages)
    return messages


def assert_every_step_once_then_done(messages: list[dict]) -> None:
    assert [m["step"] for m in messages[:-1]] == list(range(1, STEPS + 1)), [m.get("step") for m in messages]
    assert messages[-1]["type"] == "status" and messages[-1]["status"] == "done", messages[-1]


def test_lost_step_and_status_publishes_are_delivered_from_the_database(lossy_stack, slow_maze_checkpoint):
    job = submit_slow_maze(lossy_stack)
    with connect(lossy_stack.ws_url + job["stream"], open_timeout=10) as socket:
        messages = read_to_status(socket)

    assert_every_step_once_then_done(messages)
    assert "dropping the 3 publish" in lossy_stack.log("worker")  # the fault was injected


def test_a_lost_arc_event_is_delivered_from_the_database_in_its_place(lossy_stack, active_checkpoints):
    status, job = lossy_stack.request("POST", "/api/v1/jobs/", {"kind": "arc", "puzzle": ARC_TASK, **ARC_OPTIONS})
    assert status == 202, job
    with connect(lossy_stack.ws_url + job["stream"], open_timeout=10) as socket:
        messages = read_to_status(socket)

    assert shape(messages) == ARC_STREAM
    events = [m["seq"] for m in messages if "seq" in m]
    assert events == list(range(1, len(events) + 1))
    assert "dropping the event:2 publish" in lossy_stack.log("worker")


def test_a_job_taken_over_after_a_kill_between_commit_and_publish_streams_every_step(lossy_stack, slow_maze_checkpoint):
    job = submit_slow_maze(lossy_stack)

    def kill_once_step_3_is_saved(messages: list[dict]) -> None:
        # Step 3 is saved but its publish dropped, as if the worker had died right after its commit.
        if len(messages) == 2:
            deadline = time.monotonic() + 60
            while not SolveJob.objects.get(id=job["id"]).steps.filter(number=3).exists():
                assert time.monotonic() < deadline, lossy_stack.log("worker")[-3000:]
                time.sleep(0.05)
            children = psutil.Process(lossy_stack.processes["worker"].pid).children()
            assert len(children) == 1, children
            children[0].send_signal(signal.SIGKILL)

    with connect(lossy_stack.ws_url + job["stream"], open_timeout=10) as socket:
        messages = read_to_status(socket, kill_once_step_3_is_saved)

    assert_every_step_once_then_done(messages)
    saved = SolveJob.objects.get(id=job["id"])
    assert saved.attempts == 2  # the job was taken over
    assert list(saved.steps.values_list("number", flat=True)) == list(range(1, STEPS + 1))


def test_a_reconnecting_job_page_holds_every_step_once(lossy_stack, slow_maze_checkpoint, page):
    job = submit_slow_maze(lossy_stack)
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{lossy_stack.base_url}/jobs/{job['id']}/")
    page.wait_for_function("stream.steps.length >= 2", timeout=120_000)

    # The socket drops mid-job, and a step already held arrives again: neither is shown twice.
    page.evaluate("stream.socket.close()")
    page.evaluate("stream.receive({...stream.steps[0]})")
    page.locator("#job-status", has_text="done").wait_for(timeout=120_000)

    held = page.evaluate("stream.steps.map((step) => step.step)")
    assert held == list(range(1, STEPS + 1))
    assert page.locator("#timings-body tr").count() == STEPS
    assert len(sockets) == 2, sockets
    resumed_after = int(sockets[1].rsplit("after=", 1)[1])
    assert resumed_after >= 2  # it resumed after the last step it held, not from the start
