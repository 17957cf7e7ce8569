"""`make run`: the whole playground on one machine, or one role of it, stopped cleanly with Ctrl-C or SIGTERM.

TRM_ROLE=all (the default) starts, in order: Redis (REDIS_URL when it answers, else the embedded server),
database migrations and checkpoint registration, one Celery worker, and daphne on PORT (default 8000). It
prints the URL once the page answers, and when any part stops unexpectedly it stops the others and exits
non-zero. TRM_ROLE=web is the same without the worker (and a REDIS_URL that does not answer is an error,
since workers elsewhere use it); TRM_ROLE=worker starts only the Celery worker, once
trmweb/worker_preflight.py has found the web's database, Redis and URL, and otherwise says on one line
what is missing or unreachable.

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
ROLES = ("all", "web", "worker")


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


def _resolve_redis(env: dict, *, fall_back: bool) -> EmbeddedRedis | None:
    url = env.get("REDIS_URL")
    if url:
        if redis_answers(url):
            _say(f"using Redis at {url}")
            return None
        if not fall_back:
            raise _StartupFailed(f"REDIS_URL={url} does not answer, and the web role's workers take their jobs from it")
        _say(f"REDIS_URL={url} does not answer; starting the embedded Redis instead")
    embedded = EmbeddedRedis(log_path=VAR_DIR / "redis.log").start()
    env["REDIS_URL"] = embedded.url
    _say(f"started embedded Redis at {embedded.url}")
    return embedded


def _start_child(command: list[str], env: dict, **popen) -> subprocess.Popen:
    # Its own session makes its process group (pgid = its pid) hold everything it forks, the worker's pool
    # processes included, so killing that group leaves nothing behind.
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True, **popen)


def _worker_command(env: dict) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "trmweb", "worker", "--loglevel", "INFO",
            "--concurrency", env.get("TRM_WORKER_CONCURRENCY", "1")]


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
        """Start the role's parts and watch them; returns once a stop is requested (0) or a part stopped (1)."""
        role = self.env["TRM_ROLE"]
        if role == "worker":
            return self._run_worker()
        self.redis_server = _resolve_redis(self.env, fall_back=role == "all")
        for args in (("migrate", "--noinput"), ("collectstatic", "--noinput", "--verbosity", "0"),
                     ("ensure_checkpoints",)):
            if not self._manage(*args):
                return 0
        port, host = self.env["PORT"], self.env["HOST"]
        endpoint = daphne_endpoint(host, port, self.env.get("TRM_LISTEN_BACKLOG", "1024"))
        web = [sys.executable, "-m", "daphne", "-e", endpoint, "trmweb.asgi:application"]
        parts = [(web, OTHER_GRACE)] if role == "web" else [(_worker_command(self.env), WORKER_GRACE), (web, OTHER_GRACE)]
        for command, grace in parts:
            if self.stop_signals.requested:
                return 0
            self.children.append((_start_child(command, self.env), grace))
        page = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"
        if not self._wait_until(lambda: self._page_answers(page + "healthz"), timeout=120):
            if self.stop_signals.requested:
                return 0
            raise _StartupFailed("the web server did not answer within 120 s")
        workers = (f"  (no worker here: start TRM_ROLE=worker with TRM_WEB_URL={page.rstrip('/')} and this DATABASE_URL, "
                   "REDIS_URL and DJANGO_SECRET_KEY)" if role == "web" else "")
        _say(f"playground ready at {page}  (Ctrl-C stops it){workers}")
        return self._watch()

    def _run_worker(self) -> int:
        checked = self._run_to_end([sys.executable, "-m", "trmweb.worker_preflight"], stdout=subprocess.PIPE, text=True)
        if checked is None:
            return 0
        if checked.returncode != 0:
            raise _StartupFailed(checked.stdout.read().strip() or f"the worker's checks exited with {checked.returncode}")
        if self.stop_signals.requested:
            return 0
        self.children.append((_start_child(_worker_command(self.env), self.env), WORKER_GRACE))
        _say(f"worker started for the web at {self.env['TRM_WEB_URL']}  (Ctrl-C stops it)")
        return self._watch()

    def _watch(self) -> int:
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
        child = self._run_to_end([sys.executable, "manage.py", *args])
        if child is None:
            return False
        if child.returncode != 0:
            raise _StartupFailed(f"`manage.py {' '.join(args)}` exited with code {child.returncode}")
        return True

    def _run_to_end(self, command: list[str], **popen) -> subprocess.Popen | None:
        """Run one child to its end and return it (reaped); None when a stop was requested first (`stop` ends it)."""
        child = _start_child(command, self.env, **popen)
        self.children.append((child, OTHER_GRACE))
        while not (_has_exited(child) or self.stop_signals.requested):
            time.sleep(POLL_SECONDS)
        if self.stop_signals.requested:
            return None
        self.children.pop()
        child.wait()
        return child

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
    env["TRM_ROLE"] = env.get("TRM_ROLE", "").strip().lower() or "all"
    if env["TRM_ROLE"] not in ROLES:
        _say(f"cannot start: TRM_ROLE={env['TRM_ROLE']!r} is not a role; use one of {', '.join(ROLES)}")
        return 1
    if env["TRM_ROLE"] != "worker":  # a worker must share the web's key, never make one of its own
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
