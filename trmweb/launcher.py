"""`make run`: the whole playground on one machine, stopped cleanly with Ctrl-C or SIGTERM.

Starts, in order: Redis (REDIS_URL when it answers, else the embedded server), database migrations and
checkpoint registration, one Celery worker, and daphne on PORT (default 8000). It prints the URL once the
page answers, and when any part stops unexpectedly it stops the others and exits non-zero.

Stopping has no window: the signal handlers only record what arrived and never raise, so a signal at any
moment (starting, idle, or a second one while stopping) ends in the same stop path, which stops every
process started so far. Each child runs in a session of its own: a terminal's Ctrl-C or a signal to our
process group reaches only us (and the embedded Redis), and we stop the parts in order.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from trmweb.redis_server import EmbeddedRedis, RedisUnavailable, redis_answers

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRM_VAR_DIR", BASE_DIR / "var"))

# Seconds each child is given to stop after SIGTERM before its process group is killed. The worker's warm
# shutdown finishes the job it is running (acks are late, so a job cut short is delivered again, and the
# sweep of the next worker queues it again if the embedded Redis went with it). The sum stays under 30 s.
WORKER_GRACE = 15.0
OTHER_GRACE = 5.0
POLL_SECONDS = 0.1


def daphne_endpoint(host: str, port: str, backlog: str) -> str:
    """daphne's listening endpoint. Twisted's default backlog is 50: in a burst of 200 clients connecting
    at once, some were reset. The endpoint syntax escapes the colons of an IPv6 address."""
    escaped = host.replace(":", "\\:")
    return f"tcp:port={port}:interface={escaped}:backlog={backlog}"


def _say(message: str) -> None:
    try:
        print(f"[playground] {message}", flush=True)
    except OSError:
        pass  # the terminal or pipe went away with the signal that stops us; stopping matters more


class StopSignals:
    """SIGINT and SIGTERM, recorded. A second SIGINT hurries the stop (kill instead of waiting); a second
    SIGTERM does not: stopping `make run`'s process group delivers two (make passes its own on to us)."""

    def __init__(self) -> None:
        self.first: str | None = None
        self.hurried = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._record)

    def _record(self, signum, frame) -> None:
        if self.first is None:
            self.first = signal.Signals(signum).name
        elif signum == signal.SIGINT:
            self.hurried = True

    @property
    def requested(self) -> bool:
        return self.first is not None


class _StartupFailed(Exception):
    pass


def _ensure_secret_key(env: dict) -> None:
    """Use DJANGO_SECRET_KEY when given, else one kept in var/secret-key (made once, private)."""
    if env.get("DJANGO_SECRET_KEY") or env.get("DJANGO_DEBUG", "").lower() in ("1", "true", "yes", "on"):
        return
    key_file = VAR_DIR / "secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    env["DJANGO_SECRET_KEY"] = key_file.read_text().strip()


def _resolve_redis(env: dict) -> EmbeddedRedis | None:
    url = env.get("REDIS_URL")
    if url:
        if redis_answers(url):
            _say(f"using Redis at {url}")
            return None
        _say(f"REDIS_URL={url} does not answer; starting the embedded Redis instead")
    embedded = EmbeddedRedis(log_path=VAR_DIR / "redis.log").start()
    env["REDIS_URL"] = embedded.url
    _say(f"started embedded Redis at {embedded.url}")
    return embedded


def _start_child(command: list[str], env: dict) -> subprocess.Popen:
    # Its own session makes its process group (pgid = its pid) hold everything it forks, the worker's pool
    # processes included, so killing that group leaves nothing behind.
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True)


def _has_exited(child: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it: until it is reaped its pid cannot be reused, so
    signalling its process group cannot reach a stranger."""
    if child.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _stop_child(child: subprocess.Popen, grace: float, stop: StopSignals) -> None:
    """SIGTERM to the child alone (for a Celery worker, the warm shutdown; its pool processes must not get
    one), then SIGKILL to its whole group: once it has exited, for anything it left behind, or when it is
    still running after `grace` seconds or the stop is hurried."""
    if not _has_exited(child):
        child.terminate()
    deadline = time.monotonic() + grace
    while not (_has_exited(child) or stop.hurried or time.monotonic() > deadline):
        time.sleep(POLL_SECONDS)
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it and everything it started are gone already
    child.wait()


class Playground:
    """The processes of one `make run`: started in order, watched, and stopped in the same order."""

    def __init__(self, env: dict, stop: StopSignals):
        self.env = env
        self.stop_signals = stop
        self.redis_server: EmbeddedRedis | None = None
        self.children: list[tuple[subprocess.Popen, float]] = []  # each with its grace to stop

    def run(self) -> int:
        """Start everything and watch it; returns once a stop is requested (0) or a part stopped (1)."""
        self.redis_server = _resolve_redis(self.env)
        for args in (("migrate", "--noinput"), ("collectstatic", "--noinput", "--verbosity", "0"),
                     ("ensure_checkpoints",)):
            if not self._manage(*args):
                return 0
        port, host = self.env["PORT"], self.env["HOST"]
        worker = [sys.executable, "-m", "celery", "-A", "trmweb", "worker", "--loglevel", "INFO",
                  "--concurrency", self.env.get("TRM_WORKER_CONCURRENCY", "1")]
        endpoint = daphne_endpoint(host, port, self.env.get("TRM_LISTEN_BACKLOG", "1024"))
        web = [sys.executable, "-m", "daphne", "-e", endpoint, "trmweb.asgi:application"]
        for command, grace in ((worker, WORKER_GRACE), (web, OTHER_GRACE)):
            if self.stop_signals.requested:
                return 0
            self.children.append((_start_child(command, self.env), grace))
        page = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"
        if not self._wait_until(lambda: self._page_answers(page + "healthz"), timeout=120):
            if self.stop_signals.requested:
                return 0
            raise _StartupFailed("the web server did not answer within 120 s")
        _say(f"playground ready at {page}  (Ctrl-C stops it)")
        if self._wait_until(self._a_child_exited, timeout=float("inf")):
            _say("a process stopped unexpectedly; stopping the others")
            return 1
        return 0

    def stop(self) -> None:
        """Stop every child started so far, in order (worker, then web server), then the embedded Redis.
        Safe to call at any point of `run`; a second call finds nothing left to stop."""
        while self.children:
            child, grace = self.children.pop(0)
            _stop_child(child, grace, self.stop_signals)
        if self.redis_server is not None:
            self.redis_server.stop()
            self.redis_server = None

    def _manage(self, *args: str) -> bool:
        """Run one manage.py command to its end; False when a stop was requested first (`stop` ends it)."""
        child = _start_child([sys.executable, "manage.py", *args], self.env)
        self.children.append((child, OTHER_GRACE))
        while not (_has_exited(child) or self.stop_signals.requested):
            time.sleep(POLL_SECONDS)
        if self.stop_signals.requested:
            return False
        self.children.pop()
        if child.wait() != 0:
            raise _StartupFailed(f"`manage.py {' '.join(args)}` exited with code {child.returncode}")
        return True

    def _a_child_exited(self) -> bool:
        return any(_has_exited(child) for child, _ in self.children)

    def _page_answers(self, url: str) -> bool:
        if self._a_child_exited():
            raise _StartupFailed("a process exited while the web server was starting")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def _wait_until(self, condition, timeout: float) -> bool:
        """Whether `condition` held within `timeout` seconds; False as soon as a stop is requested."""
        deadline = time.monotonic() + timeout
        while not self.stop_signals.requested and time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(POLL_SECONDS)
        return False


def main() -> int:
    stop = StopSignals()
    stop.install()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PORT", "8000")
    env.setdefault("HOST", "127.0.0.1")
    _ensure_secret_key(env)
    playground = Playground(env, stop)
    try:
        return playground.run()
    except (RedisUnavailable, _StartupFailed) as error:
        _say(f"cannot start: {error}")
        return 1
    finally:
        if stop.requested:
            _say(f"{stop.first} received; stopping (Ctrl-C again kills instead of waiting)")
        playground.stop()
        _say("stopped")


if __name__ == "__main__":
    sys.exit(main())
