"""How many WebSockets one client (by address) holds open at once, counted in Redis across web servers.

Each open socket holds a lease: a member of the sorted set `trm:sockets:<address>` scored with the time it
lapses. A socket renews its lease while it is open and removes it when it closes; the lease of a socket
whose web server died lapses after TRM_SOCKET_LEASE_SECONDS, so a crash frees the client's slots soon.
Counting and taking a slot is one Lua script, so two sockets connecting at once cannot both take the last.
"""

import asyncio
import time
import weakref

import redis.asyncio
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# redis.asyncio connections belong to the event loop that opened them: one client per loop.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis]" = weakref.WeakKeyDictionary()


def _redis() -> redis.asyncio.Redis:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # Retried once on a fresh connection: a restarted Redis leaves the pool a dead one.
        # A pool that waits when all its connections are busy (a burst of sockets opening), rather than
        # failing "Too many connections" as redis-py's default pool does.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_DATABASES.channels, max_connections=settings.REDIS_POOL_SIZE, timeout=settings.REDIS_POOL_TIMEOUT,
            socket_connect_timeout=3, socket_timeout=5, retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), 2))
        client = redis.asyncio.Redis(connection_pool=pool)
        _clients[loop] = client
    return client


def _key(address: str) -> str:
    return f"trm:sockets:{address}"


async def socket_slot_take(*, address: str, socket_id: str) -> bool:
    """Take one of `address`'s TRM_MAX_SOCKETS_PER_CLIENT slots for `socket_id`; False when all are held."""
    now = time.time()
    lease = settings.TRM_SOCKET_LEASE_SECONDS
    taken = await _redis().eval(_TAKE, 1, _key(address), now, now + lease, settings.TRM_MAX_SOCKETS_PER_CLIENT,
                                socket_id, lease)
    return bool(taken)


async def socket_slot_renew(*, address: str, socket_id: str) -> None:
    """Push the lease of an open socket a full lease further."""
    lease = settings.TRM_SOCKET_LEASE_SECONDS
    async with _redis().pipeline(transaction=True) as pipe:
        pipe.zadd(_key(address), {socket_id: time.time() + lease})
        pipe.expire(_key(address), lease)
        await pipe.execute()


async def socket_slot_release(*, address: str, socket_id: str) -> None:
    await _redis().zrem(_key(address), socket_id)


async def socket_slots_held(*, address: str) -> int:
    """The live leases of `address` (what the next connect is counted against)."""
    return await _redis().zcount(_key(address), time.time(), "+inf")
