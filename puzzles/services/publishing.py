"""Publishing a job's events to its channel-layer group from a (synchronous) Celery worker.

`async_to_sync(layer.group_send)` would run each message on a fresh event loop, and channels_redis keeps
its connections per loop, so every step would open a new Redis connection. Instead each worker process
runs one event loop in a background thread and sends every message through it, over one connection pool.
Delivery through the layer is at-most-once; the database rows are the record, and the consumer fills
any gap from them (puzzles/consumers.py).

Test hook: TRM_TEST_DROP_PUBLISH (settings) names messages to drop here as if the layer had lost them,
so tests can show that a viewer still gets every step: step numbers, ARC events as `event:<seq>` and/or
`status`, e.g. "3,8,event:2,status".
"""

import asyncio
import logging
import threading
import time

from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 5.0


def job_group(job_id) -> str:
    return f"job.{job_id}"


def evaluation_group(evaluation_id) -> str:
    return f"evaluation.{evaluation_id}"


class _Publisher:
    def __init__(self):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pid = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        import os

        with self._lock:
            # A forked worker child must not reuse its parent's loop thread (it does not exist there).
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                threading.Thread(target=self._loop.run_forever, name="channel-layer-publisher", daemon=True).start()
            return self._loop

    def send(self, job_id, message: dict) -> bool:
        """Send one message to the job's group; False (and a log line) when the layer is unreachable."""
        return self.send_to_group(job_group(job_id), message)

    def send_to_group(self, group: str, message: dict) -> bool:
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(get_channel_layer().group_send(group, message), loop)
        try:
            future.result(timeout=PUBLISH_TIMEOUT)
            return True
        except Exception:  # what was sent is saved; a viewer will get it from the database on reconnect
            logger.warning("could not publish %s to %s", message.get("type"), group, exc_info=True)
            future.cancel()
            return False


publisher = _Publisher()


def _dropped_for_test(what: str) -> bool:
    if what in settings.TRM_TEST_DROP_PUBLISH:
        logger.warning("dropping the %s publish (TRM_TEST_DROP_PUBLISH)", what)
        return True
    return False


def publish_step(job_id, step_message: dict) -> bool:
    if _dropped_for_test(str(step_message.get("step"))):
        return False
    # Stamped at the hand-over to the layer, so that what follows is Redis and the consumer (puzzles/messages.py).
    return publisher.send(job_id, {"type": "job.step", "payload": {**step_message, "published_at": time.time()}})


def publish_event(job_id, event_message: dict) -> bool:
    """An ARC job's fit / solve / vote event (puzzles/messages.py); a test drops one as `event:<seq>`."""
    if _dropped_for_test(f"event:{event_message.get('seq')}"):
        return False
    return publisher.send(job_id, {"type": "job.event", "payload": event_message})


def publish_status(job_id, status_message: dict) -> bool:
    if _dropped_for_test("status"):
        return False
    return publisher.send(job_id, {"type": "job.status", "payload": status_message})


def publish_evaluation(evaluation_id, progress_message: dict) -> bool:
    """A staff evaluation's progress snapshot (puzzles/messages.py)."""
    return publisher.send_to_group(evaluation_group(evaluation_id), {"type": "evaluation.progress",
                                                                     "payload": progress_message})
