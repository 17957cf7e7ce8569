"""WebSocket limits over a real daphne with real clients: at most TRM_MAX_SOCKETS_PER_CLIENT open sockets per
client address (the next is refused with 4429 and a reason, closing one frees a slot, a dead server's slots
lapse), and clients cannot make the consumer hold or choke on what they send."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from puzzles.consumers import CLIENT_MESSAGE_MAX_BYTES
from puzzles.models import Puzzle, SolveJob
from puzzles.services.jobs import job_cancel
from tests.conftest import PROJECT_DIR
from tests.stack import database_url_for_subprocess, free_port
from trmweb.redis_databases import redis_databases

pytestmark = pytest.mark.stack

LIMIT = 3
LEASE_SECONDS = 3
SUDOKU = {"grid": "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."}


class Daphne:
    """daphne serving the test database, with the socket limit and lease of these tests; no worker."""

    def __init__(self, env: dict, log_path):
        self.env, self.log_path, self.port, self.process = env, log_path, free_port(), None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> "Daphne":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                                         "trmweb.asgi:application"], cwd=PROJECT_DIR, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
            except OSError:
                time.sleep(0.2)
                continue
            return self
        raise TimeoutError(self.log_path.read_text())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture(scope="module")
def daphne(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url, REDIS_URL=redis_url, TRM_MAX_SOCKETS_PER_CLIENT=str(LIMIT),
               TRM_SOCKET_LEASE_SECONDS=str(LEASE_SECONDS))
    server = Daphne(env, tmp_path_factory.mktemp("daphne") / "web.log").start()
    yield server
    server.stop()


@pytest.fixture
def slots(redis_url):
    """Live socket leases of this machine's address, as the web server counts them (in the channel layer's
    database)."""
    client = redis.Redis.from_url(redis_databases(redis_url).channels)

    def held() -> int:
        return client.zcount("trm:sockets:127.0.0.1", time.time(), "+inf")

    yield held
    client.close()


@pytest.fixture
def waiting_job(active_checkpoints, slots):
    """A job that stays queued (its message never sent), so that its viewers stay connected."""
    wait_for(lambda: slots() == 0, "sockets of an earlier test still hold slots")
    puzzle = Puzzle.objects.create(kind="sudoku", data=SUDOKU)
    return SolveJob.objects.create(puzzle=puzzle, checkpoint=active_checkpoints["sudoku"], steps_requested=2,
                                   owner_key="session:test", enqueued_at=timezone.now())


def wait_for(condition, message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def stream(daphne, job):
    return connect(f"{daphne.ws_url}/ws/jobs/{job.id}/", open_timeout=10)


def closing_message(viewer) -> dict:
    """The message a socket gets before the server closes it."""
    message = json.loads(viewer.recv(timeout=30))
    with pytest.raises(ConnectionClosed):
        viewer.recv(timeout=30)
    return message


def test_a_client_holds_at_most_its_sockets_and_closing_one_frees_a_slot(daphne, waiting_job, slots):
    with ExitStack() as held:
        sockets = [held.enter_context(stream(daphne, waiting_job)) for _ in range(LIMIT)]
        wait_for(lambda: slots() == LIMIT, "every open socket holds a slot")

        with stream(daphne, waiting_job) as refused:
            message = closing_message(refused)
        assert refused.close_code == 4429
        assert message["type"] == "error" and message["code"] == 4429
        assert f"at most {LIMIT}" in message["error"] and "close one" in message["error"]
        assert slots() == LIMIT  # the refused socket took none

        sockets.pop().close()
        wait_for(lambda: slots() == LIMIT - 1, "a closed socket frees its slot")
        sockets.append(held.enter_context(stream(daphne, waiting_job)))

        job_cancel(job=waiting_job)  # every viewer gets the status: all of them were served
        assert [json.loads(viewer.recv(timeout=30))["status"] for viewer in sockets] == ["cancelled"] * LIMIT
    wait_for(lambda: slots() == 0, "sockets closed by the server free their slots")


def test_messages_from_clients_are_ignored_and_a_large_one_ends_the_socket(daphne, waiting_job):
    with stream(daphne, waiting_job) as chatty, stream(daphne, waiting_job) as flooding:
        chatty.send("not json")
        chatty.send(b"\x00\x01")
        chatty.send(json.dumps({"type": "step", "step": 99}))

        flooding.send("x" * (CLIENT_MESSAGE_MAX_BYTES + 1))
        message = closing_message(flooding)
        assert flooding.close_code == 4413 and message["code"] == 4413
        assert f"at most {CLIENT_MESSAGE_MAX_BYTES} bytes" in message["error"]

        job_cancel(job=waiting_job)
        assert json.loads(chatty.recv(timeout=30)) == {"type": "status", "status": "cancelled",
                                                       "error": "cancelled by the user"}


def test_the_slots_of_a_web_server_that_died_lapse(daphne, waiting_job, slots):
    with ExitStack() as held:
        for _ in range(LIMIT):
            held.enter_context(stream(daphne, waiting_job))
        wait_for(lambda: slots() == LIMIT, "every open socket holds a slot")
        daphne.kill()  # no socket gets to free its slot
    daphne.start()

    wait_for(lambda: slots() == 0, "leases of a dead server lapse", timeout=LEASE_SECONDS * 5)
    with ExitStack() as held:
        sockets = [held.enter_context(stream(daphne, waiting_job)) for _ in range(LIMIT)]
        job_cancel(job=waiting_job)
        assert [json.loads(viewer.recv(timeout=30))["status"] for viewer in sockets] == ["cancelled"] * LIMIT


def test_open_sockets_keep_their_slots_beyond_one_lease(daphne, waiting_job, slots):
    with ExitStack() as held:
        for _ in range(LIMIT):
            held.enter_context(stream(daphne, waiting_job))
        wait_for(lambda: slots() == LIMIT, "every open socket holds a slot")
        renewed_until = time.time() + 2 * LEASE_SECONDS
        wait_for(lambda: time.time() > renewed_until, "", timeout=3 * LEASE_SECONDS)

        assert slots() == LIMIT
        with stream(daphne, waiting_job) as refused:
            assert closing_message(refused)["code"] == 4429
        job_cancel(job=waiting_job)


def test_a_stream_of_a_job_that_does_not_exist_is_refused_and_holds_no_slot(daphne, active_checkpoints, slots):
    from websockets.exceptions import InvalidStatus

    wait_for(lambda: slots() == 0, "sockets of an earlier test still hold slots")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{daphne.ws_url}/ws/jobs/00000000-0000-4000-8000-000000000000/", open_timeout=10)
    assert refused.value.response.status_code == 403  # closed before the handshake completed
    wait_for(lambda: slots() == 0, "a refused stream gives back the slot it took")
