"""`make run`'s launcher as a new user meets it: a REDIS_URL that points nowhere falls back to the
embedded Redis, the page answers, a job runs; and however it is told to stop (Ctrl-C or SIGTERM, once or
twice, to it or to `make run`'s whole process group, while starting, idle or mid-solve), every process
it started is gone within 30 s, the port is free, and a job it was running is finished or handed back."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.stack import free_port
from trmweb.redis_server import EmbeddedRedis

PROJECT_DIR = Path(__file__).resolve().parent.parent
STOP_WITHIN = 30.0
SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."


def test_embedded_redis_starts_answers_and_stops():
    with EmbeddedRedis() as server:
        import redis

        client = redis.Redis.from_url(server.url)
        assert client.ping()
        process = psutil.Process(server.process.pid)
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


def _is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return ""


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR: connections the test made may linger in TIME_WAIT; only a listener makes bind fail.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Launcher:
    """`python -m trmweb.launcher` (or `make run`) in a process group of its own, on a free port, with
    its own var directory, SQLite database and embedded Redis."""

    def __init__(self, tmp_path: Path, *, via_make: bool = False, **settings: str):
        self.tmp_path = tmp_path
        self.port = free_port()
        self.env = {name: value for name, value in os.environ.items()
                    if name not in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "REDIS_URL")}
        # No REDIS_URL: the embedded Redis, which the launcher must stop too. A database of its own, never
        # the one the suite runs against (nor a real one).
        self.env.update(PORT=str(self.port), TRM_VAR_DIR=str(tmp_path), TRM_DEVICE="cpu",
                        DATABASE_URL=f"sqlite:///{self.database}", **settings)
        # `-o` keeps make from reinstalling requirements mid-test; the recipe is the one people run.
        self.command = (["make", "--no-print-directory", "-o", ".venv/.installed", "run", f"VENV_PYTHON={sys.executable}"]
                        if via_make else [sys.executable, "-m", "trmweb.launcher"])
        self.log_path = tmp_path / f"launcher-{time.monotonic_ns()}.log"
        self.top: subprocess.Popen | None = None
        self.seen: dict[int, psutil.Process] = {}  # redis-server's process title overwrites its environment

    @property
    def database(self) -> Path:
        return self.tmp_path / "launcher.sqlite3"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Launcher":
        log = open(self.log_path, "w")
        self.top = subprocess.Popen(self.command, cwd=PROJECT_DIR, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until(self, condition, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.top.poll() is None, f"exited with {self.top.returncode} before {what}:\n{self.log()[-3000:]}"
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"not {what} within {timeout:.0f} s:\n{self.log()[-3000:]}")

    def wait_ready(self) -> None:
        self.wait_until(lambda: "playground ready at" in self.log(), 150, "ready")

    def ours(self) -> list[psutil.Process]:
        """Every process started for this launcher, however it is parented: its descendants, and any
        process that inherited its TRM_VAR_DIR (an orphan would have left the tree)."""
        found = {}
        if self.top.poll() is None:
            found = {process.pid: process for process in psutil.Process(self.top.pid).children(recursive=True)}
        for process in psutil.process_iter():
            try:
                if process.environ().get("TRM_VAR_DIR") == str(self.tmp_path):
                    found.setdefault(process.pid, process)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        found.pop(os.getpid(), None)
        self.seen.update(found)
        return list(found.values())

    def launcher_pid(self) -> int:
        """The launcher's own pid: under make, make's child."""
        if self.command[0] != "make":
            return self.top.pid
        return self.wait_until(lambda: next((p.pid for p in psutil.Process(self.top.pid).children()
                                             if "trmweb.launcher" in _command_line(p)), None), 10, "launched by make")

    def send(self, target: str, signals: list[signal.Signals], *, storm: bool = False, gap: float = 0.1) -> float:
        """Send `signals` to the launcher alone or to the whole process group it started in; with `storm`,
        the last one again as fast as possible for 0.3 s, so that one lands at whatever instant the stop
        is at, the instant of a handler that raises included. Returns when (time.monotonic) the first went."""
        pid = self.launcher_pid()
        first_sent = time.monotonic()
        deliver = (lambda signum: os.killpg(self.top.pid, signum)) if target == "group" else (lambda signum: os.kill(pid, signum))
        try:
            for index, signum in enumerate(signals):
                if index:
                    time.sleep(gap)
                deliver(signum)
            storm_ends = time.monotonic() + 0.3
            while storm and time.monotonic() < storm_ends:
                deliver(signals[-1])
        except ProcessLookupError:
            pass  # it stopped before the last one
        return first_sent

    def assert_stops(self, family: list[psutil.Process], since: float) -> float:
        """Seconds from `since` until `family`, the launcher and every later process of ours are gone and
        the port is free."""
        deadline = since + STOP_WITHIN
        while time.monotonic() < deadline:
            if (self.top.poll() is not None and not any(_is_alive(p) for p in family)
                    and not any(_is_alive(p) for p in self.ours()) and _port_is_free(self.port)):
                return time.monotonic() - since
            time.sleep(0.1)
        alive = [p for p in {*family, *self.ours()} if _is_alive(p)]
        raise AssertionError(f"after {STOP_WITHIN:.0f} s: exit code {self.top.poll()}, still running {alive}, "
                             f"port {self.port} free: {_port_is_free(self.port)}\n{self.log()[-3000:]}")

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def job_status(self, job_id: str) -> str:
        """The job's status as its database holds it (readable while the playground is down)."""
        with sqlite3.connect(self.database) as database:
            row = database.execute("SELECT status FROM puzzles_solvejob WHERE id = ?", (uuid.UUID(job_id).hex,)).fetchone()
        return row[0]

    def kill_leftovers(self) -> None:
        self.ours()
        if self.top.poll() is None:
            self.top.kill()
        for process in self.seen.values():
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        self.top.wait()


@pytest.fixture
def launchers():
    """Start launchers through this; whatever a failing test left running is killed afterwards."""
    started: list[Launcher] = []

    def start(tmp_path: Path, **options) -> Launcher:
        started.append(Launcher(tmp_path, **options).start())
        return started[-1]

    yield start
    for launcher in started:
        launcher.kill_leftovers()


def _running_job(launcher: Launcher) -> str:
    """Submit a Sudoku and wait until the worker has taken it (it is then in its batch window)."""
    job = launcher.request("POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}})
    launcher.wait_until(lambda: launcher.request("GET", job["url"])["status"] == "running", 60, "running the job")
    return job["id"]


@pytest.mark.stack
def test_launcher_falls_back_to_embedded_redis_serves_and_stops_on_sigterm(tmp_path, launchers):
    launcher = launchers(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    launcher.wait_ready()
    assert "does not answer; starting the embedded Redis instead" in launcher.log()
    family = launcher.ours()
    assert len(family) >= 4  # redis-server, worker, its pool process, daphne

    with urllib.request.urlopen(f"{launcher.url}/healthz", timeout=10) as response:
        health = json.load(response)
    assert health["database"]["ok"] and health["redis"]["ok"]
    with urllib.request.urlopen(f"{launcher.url}/", timeout=10) as response:
        assert "TRM Playground" in response.read().decode()

    sent = launcher.send("launcher", [signal.SIGTERM])
    print(f"SIGTERM once, idle: stopped in {launcher.assert_stops(family, sent):.1f} s")
    assert launcher.top.returncode == 0


@dataclass(frozen=True)
class Stop:
    moment: str  # "idle", "mid-solve", or the manage.py command it interrupts while starting
    target: str  # "launcher" or "group"
    signals: tuple[signal.Signals, ...]
    via_make: bool = False
    storm: bool = False  # the last signal again and again for 0.3 s (see Launcher.send)

    def __str__(self) -> str:
        signals = " ".join(signum.name for signum in self.signals) + (" storm" if self.storm else "")
        return f"{signals} to the {'make run ' if self.via_make else ''}{self.target}, {self.moment}"


INT, TERM = signal.SIGINT, signal.SIGTERM
STOPS = {
    "sigint-once": Stop("idle", "launcher", (INT,)),
    "sigint-twice": Stop("idle", "launcher", (INT, INT)),
    "sigterm-twice": Stop("idle", "launcher", (TERM, TERM)),
    # make passes a SIGTERM it gets on to its child, so a group's SIGTERM reaches the launcher twice at once.
    "make-group-sigterm-once": Stop("idle", "group", (TERM,), via_make=True),
    "make-group-sigterm-twice": Stop("idle", "group", (TERM, TERM), via_make=True),
    "make-group-ctrl-c-twice": Stop("idle", "group", (INT, INT), via_make=True),
    # A handler that raised could fire again inside the stop itself and cut it short; storms find any such instant.
    "sigterm-storm": Stop("idle", "launcher", (TERM,), storm=True),
    "make-group-sigterm-storm": Stop("idle", "group", (TERM,), via_make=True, storm=True),
    "sigint-storm-while-migrating": Stop("migrate", "launcher", (INT,), storm=True),
    "make-group-sigterm-while-migrating": Stop("migrate", "group", (TERM,), via_make=True),
    "sigint-while-ensuring-checkpoints": Stop("ensure_checkpoints", "launcher", (INT,)),
    # A warm stop lets the worker finish the job (its batch window keeps it running for 5 s); a group's
    # signal stops the embedded Redis at once, so the worker finishes without its broker.
    "sigterm-once-mid-solve": Stop("mid-solve", "launcher", (TERM,)),
    "make-group-sigterm-mid-solve": Stop("mid-solve", "group", (TERM,), via_make=True),
}


@pytest.mark.stack
@pytest.mark.parametrize("stop", STOPS.values(), ids=STOPS.keys())
def test_every_process_is_gone_and_the_port_free_within_30_s(tmp_path, launchers, stop):
    launcher = launchers(tmp_path, via_make=stop.via_make, TRM_BATCH_WINDOW_MS="5000")
    job_id = None
    if stop.moment in ("idle", "mid-solve"):
        launcher.wait_ready()
        if stop.moment == "mid-solve":
            job_id = _running_job(launcher)
    else:
        launcher.wait_until(lambda: any(stop.moment in _command_line(p) for p in launcher.ours()),
                            120, f"running manage.py {stop.moment}")
    family = launcher.ours()

    sent = launcher.send(stop.target, list(stop.signals), storm=stop.storm)
    seconds = launcher.assert_stops(family, sent)
    print(f"{stop}: stopped in {seconds:.1f} s")
    if stop.moment not in ("idle", "mid-solve"):
        assert "playground ready" not in launcher.log()
    if job_id:
        assert launcher.job_status(job_id) == "done", launcher.log()[-3000:]


@pytest.mark.stack
def test_a_job_cut_short_by_a_hurried_stop_is_handed_back_and_finished_at_the_next_start(tmp_path, launchers):
    # A stale heartbeat and a quick sweep let the next worker take the job over within seconds.
    settings = {"TRM_BATCH_WINDOW_MS": "5000", "TRM_HEARTBEAT_STALE": "5", "TRM_SWEEP_SECONDS": "1"}
    first = launchers(tmp_path, **settings)
    first.wait_ready()
    job_id = _running_job(first)
    family = first.ours()
    sent = first.send("launcher", [INT, INT])  # Ctrl-C twice: the worker is killed, not waited for
    print(f"SIGINT twice mid-solve: stopped in {first.assert_stops(family, sent):.1f} s")
    assert first.job_status(job_id) == "running"  # its message went with the embedded Redis

    second = launchers(tmp_path, **settings)
    second.wait_ready()
    second.wait_until(lambda: second.job_status(job_id) == "done", 60, "finishing the job handed back")
    family = second.ours()
    sent = second.send("launcher", [TERM])
    print(f"SIGTERM once after the job was handed back: stopped in {second.assert_stops(family, sent):.1f} s")
