"""Starting the real parts of the playground as separate processes for tests.

The worker and the web server are the same commands `make run` starts (`celery -A trmweb worker`,
`daphne trmweb.asgi:application`), pointed at the test database and the session's Redis.
"""

import http.cookiejar
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import astuple, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection

from trmweb.redis_databases import RedisDatabases, redis_databases


def use_redis(url: str) -> None:
    """Point this test process's Celery app, channel layer and cache at `url`'s databases, as the settings
    would (trmweb/redis_databases.py)."""
    from trmweb.celery import app

    databases = redis_databases(url)
    settings.REDIS_URL = url
    settings.REDIS_DATABASES = databases
    settings.CELERY_BROKER_URL = databases.broker
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = databases.channels
    settings.CACHES["default"]["LOCATION"] = databases.cache
    channel_layers.backends.clear()
    app.conf.broker_url = databases.broker


def private_redis_url(url: str, slot: int) -> str:
    """`url` moved `slot` sets of databases up (broker, channel layer, cache: trmweb/redis_databases.py).

    A stack of a test's own, with a worker of its own, must not share its broker queue with the session's
    stack: the session's worker would take that test's jobs, which then run without the test's settings
    (a worker that drops publishes or hangs its steps)."""
    databases_per_stack = len(fields(RedisDatabases))
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0) + slot * databases_per_stack
    assert base + databases_per_stack <= 16, f"{url}: no room for private stack {slot} in Redis's 16 databases"
    return urlunsplit(parts._replace(path=f"/{base}"))


def flush_redis(url: str) -> None:
    """Empty the broker, channel-layer and cache databases of `url`: no queue or counters of an earlier test."""
    import redis

    for database_url in astuple(redis_databases(url)):
        client = redis.Redis.from_url(database_url)
        client.flushdb()
        client.close()


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the database the tests run on (the test database, not the real one)."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    user = database.get("USER") or ""
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{database['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """A running worker and web server; `base_url` and `ws_url` address the web server."""

    def __init__(self, *, env: dict, cwd: Path, log_dir: Path):
        self.env = env
        self.cwd = cwd
        self.log_dir = log_dir
        self.port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def start_worker(self, name: str = "worker") -> None:
        self._start(name, [sys.executable, "-m", "celery", "-A", "trmweb", "worker", "--concurrency", "1",
                           "--loglevel", "INFO", "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"])

    def __enter__(self) -> "Stack":
        # Serve this checkout's static files, as `make run` does, not whatever an earlier run collected.
        # A worker that just started is seen within a second, not when the cached ping of /healthz expires.
        self.env = {"TRM_HEALTH_PING_SECONDS": "1", **self.env, "TRM_STATIC_ROOT": str(self.log_dir / "static")}
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                       cwd=self.cwd, env=self.env, check=True)
        self.start_worker()
        self._start("web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "trmweb.asgi:application"])
        self.wait_until(self._web_answers, 60, "daphne did not answer")
        self.wait_until(lambda: self.workers() > 0, 90, "the Celery worker did not answer a ping")
        return self

    def _web_answers(self) -> bool:
        try:
            urllib.request.urlopen(self.base_url + "/healthz", timeout=2)
        except urllib.error.HTTPError:
            return True  # it answered, if not yet healthy
        except (urllib.error.URLError, OSError):
            return False
        return True

    def workers(self) -> int:
        """1 while /healthz says a worker answers, else 0 (the count is shown to staff only)."""
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=5) as response:
                return int(json.load(response)["workers"]["ok"])
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            return 0

    def wait_until(self, condition, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
            if condition():
                return
            time.sleep(0.2)
        raise TimeoutError(message + "\n" + "\n".join(f"--- {n}\n{self.log(n)[-2000:]}" for n in self.processes))

    def __exit__(self, *exc_info) -> None:
        # The worker's pool children hold database connections too: wait for them as well, so the test
        # database can be dropped once the session ends.
        family = []
        for process in self.processes.values():
            try:
                family += psutil.Process(process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _, alive = psutil.wait_procs(family, timeout=10)
        for straggler in alive:
            straggler.kill()

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        """(status, JSON body) of a one-off HTTP request to the web server (no cookies kept)."""
        return HttpClient(self.base_url).request(method, path, body, headers)

    def client(self) -> "HttpClient":
        """An HTTP client that keeps its cookies, like one browser or one script session."""
        return HttpClient(self.base_url)


class HttpClient:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        """(status, JSON body) of an HTTP request."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")
