"""`make run`: the whole playground on one machine, stopped cleanly with Ctrl-C or SIGTERM.

Starts, in order: Redis (REDIS_URL when it answers, else the embedded server), database migrations and
checkpoint registration, one Celery worker, and daphne on PORT (default 8000). It prints the URL once the
page answers, and when any part stops unexpectedly it stops the others and exits non-zero.
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


def daphne_endpoint(host: str, port: str, backlog: str) -> str:
    """daphne's listening endpoint. Twisted's default backlog is 50: in a burst of 200 clients connecting
    at once, some were reset. The endpoint syntax escapes the colons of an IPv6 address."""
    escaped = host.replace(":", "\\:")
    return f"tcp:port={port}:interface={escaped}:backlog={backlog}"


def _say(message: str) -> None:
    print(f"[playground] {message}", flush=True)


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


def _manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _wait_for_page(url: str, children: list[subprocess.Popen], timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


def _stop(children: list[subprocess.Popen], redis_server: EmbeddedRedis | None) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if redis_server is not None:
        redis_server.stop()


class _StopRequested(Exception):
    pass


def _raise_stop(signum, frame) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def main() -> int:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    port = env.setdefault("PORT", "8000")
    host = env.setdefault("HOST", "127.0.0.1")
    _ensure_secret_key(env)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    children: list[subprocess.Popen] = []
    redis_server = None
    try:
        redis_server = _resolve_redis(env)
        _manage(env, "migrate", "--noinput")
        _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        _manage(env, "ensure_checkpoints")
        # Children get their own session so a terminal's Ctrl-C reaches only us; we stop them in order.
        worker = [sys.executable, "-m", "celery", "-A", "trmweb", "worker", "--loglevel", "INFO",
                  "--concurrency", env.get("TRM_WORKER_CONCURRENCY", "1")]
        endpoint = daphne_endpoint(host, port, env.get("TRM_LISTEN_BACKLOG", "1024"))
        web = [sys.executable, "-m", "daphne", "-e", endpoint, "trmweb.asgi:application"]
        for command in (worker, web):
            children.append(subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True))
        page = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"
        if not _wait_for_page(page + "healthz", children):
            _say("the web server did not come up; stopping")
            return 1
        _say(f"playground ready at {page}  (Ctrl-C stops it)")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        _say("a process stopped unexpectedly; stopping the others")
        return 1
    except _StopRequested as stop:
        _say(f"{stop} received; stopping")
        return 0
    except (RedisUnavailable, subprocess.CalledProcessError) as error:
        _say(f"cannot start: {error}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(children, redis_server)
        _say("stopped")


if __name__ == "__main__":
    sys.exit(main())
