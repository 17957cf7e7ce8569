"""A worker's sign of life for what it runs: a thread that renews a heartbeat while a block of work runs.

Solve jobs (services/job_steps.py) and evaluations (services/evaluation_execution.py) both beat, so that the
workers' sweep can tell a running one from one whose worker died.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def beat_interval() -> float:
    """Seconds between two renewals: a quarter of TRM_HEARTBEAT_STALE, so a few beats may fail in a row."""
    return max(1.0, settings.TRM_HEARTBEAT_STALE / 4)


def silent_long_enough(seen: dict, key, heartbeat, now) -> bool:
    """Whether the stale `heartbeat` of `key` was already seen, unchanged, at least two beats before `now`.

    A stale heartbeat alone does not prove a worker dead: after a database outage longer than
    TRM_HEARTBEAT_STALE every heartbeat is old at once, and the workers still alive renew theirs within a
    beat of the database coming back. `seen` keeps the first sighting of each key (key -> (heartbeat, when)).
    """
    first = seen.get(key)
    if first is None or first[0] != heartbeat:
        seen[key] = (heartbeat, now)
        return False
    return (now - first[1]).total_seconds() >= 2 * beat_interval()


@contextmanager
def renewing(renew: Callable[[], None], *, name: str) -> Iterator[None]:
    """Call `renew` every quarter of TRM_HEARTBEAT_STALE while the block runs (a forward pass may take longer
    than that), in a thread of its own with its own database connection."""
    stop = threading.Event()
    interval = beat_interval()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    renew()
                except Exception:  # the database is briefly away: the next beat tries on a new connection
                    logger.warning("%s failed", name, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 30)
