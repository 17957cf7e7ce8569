"""Every step message says when it passed each stage of its way to the viewer, in order, live and on replay.

The worker, daphne and this test share one machine's clock, so the stamps of different processes compare
directly (puzzles/messages.py says what each one means; bench/streaming.py measures the gaps).
"""

import json
import time

import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.stack

MAZE = ["##########", "#S       #", "# ###### #", "#      #G#", "##########"]
LIVE_ORDER = ("computed_at", "saved_at", "committed_at", "published_at", "relayed_at")
REPLAY_ORDER = ("saved_at", "relayed_at")
# Step rows keep datetimes to the microsecond, so `saved_at` may round a hair past a time.time() beside it.
CLOCK_SLACK = 0.001


def steps_with_arrival(url: str) -> list[dict]:
    """The stream's step messages, each with `arrival`: when this client had received it."""
    steps = []
    with connect(url, open_timeout=10) as socket:
        while True:
            text = socket.recv(timeout=120)
            arrival = time.time()
            message = json.loads(text)
            if message["type"] == "status":
                assert message["status"] == "done", message
                return steps
            steps.append({**message, "arrival": arrival})


def assert_in_order(message: dict, keys: tuple[str, ...]) -> None:
    times = [message[key] for key in (*keys, "arrival")]
    assert all(earlier <= later + CLOCK_SLACK for earlier, later in zip(times, times[1:])), (message["step"], times)


def test_steps_carry_their_stage_times_in_order_live_and_on_replay(stack, slow_maze_checkpoint):
    # The slow checkpoint takes long enough per step that the socket is open before the later steps exist.
    status, job = stack.request("POST", "/api/v1/jobs/", {"kind": "maze", "puzzle": {"grid": MAZE},
                                                          "checkpoint": "slow-maze", "steps": 4})
    assert status == 202, job

    first_viewing = steps_with_arrival(stack.ws_url + job["stream"])
    replay = steps_with_arrival(stack.ws_url + job["stream"])

    assert [m["step"] for m in first_viewing] == [m["step"] for m in replay] == [1, 2, 3, 4]
    live = [m for m in first_viewing if "computed_at" in m]
    assert live, "no step came live: the job ended before the socket opened"
    for message in live:
        assert_in_order(message, LIVE_ORDER)
    for message in [m for m in first_viewing if m not in live] + replay:
        assert_in_order(message, REPLAY_ORDER)
    saved_first = {m["step"]: m["saved_at"] for m in first_viewing}
    assert {m["step"]: m["saved_at"] for m in replay} == saved_first  # the row's own time, whichever path
    assert all(r["relayed_at"] > f["arrival"] for r, f in zip(replay, first_viewing))  # stamped per sending
