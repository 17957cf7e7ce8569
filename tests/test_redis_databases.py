"""The broker, the channel layer and the cache live in separate Redis databases derived from REDIS_URL:
clearing the cache (a FLUSHDB) leaves queued jobs queued and viewers' groups in place."""

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from puzzles.models import SolveJob
from puzzles.services.jobs import Client, job_submit
from tests.conftest import UNCONSUMED_QUEUE
from trmweb.redis_databases import redis_databases

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
# No worker of the suite consumes this queue, so a job sent there stays queued for the test to look at.

@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6379/0", ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1", "redis://127.0.0.1:6379/2")),
    ("redis://127.0.0.1:6379", ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1", "redis://127.0.0.1:6379/2")),
    ("rediss://:secret@cache.example:6380/5?ssl_cert_reqs=none",
     ("rediss://:secret@cache.example:6380/5?ssl_cert_reqs=none", "rediss://:secret@cache.example:6380/6?ssl_cert_reqs=none",
      "rediss://:secret@cache.example:6380/7?ssl_cert_reqs=none")),
])
def test_the_three_databases_follow_the_url(url, expected):
    databases = redis_databases(url)

    assert (databases.broker, databases.channels, databases.cache) == expected

@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/zero", "http://127.0.0.1:6379/0"])
def test_a_url_that_names_no_database_number_is_refused_with_the_reason(url):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        redis_databases(url)

def test_clearing_the_cache_leaves_queued_jobs_and_stream_groups(redis_url, active_checkpoints, settings):
    settings.TRM_SOLVE_QUEUE = UNCONSUMED_QUEUE
    databases = redis_databases(redis_url)
    broker = redis.Redis.from_url(databases.broker)
    broker.delete(UNCONSUMED_QUEUE)
    layer = get_channel_layer()
    async_to_sync(layer.group_add)("job.cache-clear-test", "cache-clear-viewer")
    cache.set("trm:some-rate-limit", 3)
    try:
        job, _created = job_submit(client=Client(owner_key="session:cache-clear", ip="192.0.2.7"), kind="sudoku",
                                   puzzle={"grid": SUDOKU}, steps=2)
        assert broker.llen(UNCONSUMED_QUEUE) == 1  # the job's Celery message waits in the broker's database

        cache.clear()

        assert cache.get("trm:some-rate-limit") is None  # the cache was cleared
        assert broker.llen(UNCONSUMED_QUEUE) == 1
        assert str(job.id) in broker.lindex(UNCONSUMED_QUEUE, 0).decode()
        assert SolveJob.objects.get(id=job.id).status == "queued"
        async_to_sync(layer.group_send)("job.cache-clear-test", {"type": "job.step", "payload": {"step": 1}})
        received = async_to_sync(layer.receive)("cache-clear-viewer")
        assert received["payload"] == {"step": 1}
    finally:
        broker.delete(UNCONSUMED_QUEUE)
        broker.close()
