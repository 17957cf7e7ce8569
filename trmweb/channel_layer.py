"""The Redis channel layer with a connection pool that waits instead of failing when it is full.

channels_redis builds redis-py's plain ConnectionPool, which raises "Too many connections" as soon as
its 100 connections are all in use: with 200 viewers connecting at once, a hundred of them were closed
with 4503 although Redis was fine. A BlockingConnectionPool of the same size makes the extra ones wait
(up to TRM_REDIS_POOL_TIMEOUT seconds) for a connection to come back, which takes milliseconds.
"""

import redis.asyncio
from channels_redis.core import RedisChannelLayer


class WaitingRedisChannelLayer(RedisChannelLayer):
    def create_pool(self, index):
        host = dict(self.hosts[index])
        return redis.asyncio.BlockingConnectionPool.from_url(host.pop("address"), **host)
