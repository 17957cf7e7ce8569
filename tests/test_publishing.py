"""A worker publishes every step through one persistent channel-layer connection, not one per message."""

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from puzzles.services.publishing import job_group, publish_step


def connections_opened(url: str) -> int:
    """How many connections the Redis server has accepted since it started (this probe's included)."""
    client = redis.Redis.from_url(url)
    try:
        return client.info("stats")["total_connections_received"]
    finally:
        client.close()


def test_many_steps_go_through_one_connection_and_arrive(redis_url):
    layer = get_channel_layer()
    channel = "publishing-test-viewer"
    async_to_sync(layer.group_add)(job_group("publishing-test"), channel)
    publish_step("publishing-test", {"type": "step", "step": 0})  # opens the publisher's connection
    before = connections_opened(redis_url)

    for number in range(1, 41):
        assert publish_step("publishing-test", {"type": "step", "step": number})

    assert connections_opened(redis_url) == before + 1  # only the second probe

    async def receive_all() -> list[int]:
        return [(await layer.receive(channel))["payload"]["step"] for _ in range(41)]

    assert async_to_sync(receive_all)() == list(range(41))
