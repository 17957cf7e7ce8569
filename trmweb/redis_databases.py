"""One REDIS_URL, three Redis databases: the Celery broker, the channel layer and the cache apart.

Django's cache.clear() is a FLUSHDB: with everything in one database it dropped the job queue and every
viewer's group with the rate-limit counters. The URL's database N (0 when it names none) holds the
broker's queue, N+1 the channel layer (and the socket-slot leases), N+2 the cache, so a server needs
N+2 below its `databases` setting (16 by default: N up to 13).
"""

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

BROKER, CHANNELS, CACHE = 0, 1, 2


@dataclass(frozen=True)
class RedisDatabases:
    broker: str
    channels: str
    cache: str


def _database_of(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    if not path:
        return 0
    if not path.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL={url!r}: the path must be a database number, like redis://host:6379/0")
    return int(path)


def _with_database(url: str, database: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def redis_databases(url: str) -> RedisDatabases:
    """The broker's, the channel layer's and the cache's URLs derived from REDIS_URL (see above)."""
    if urlsplit(url).scheme not in ("redis", "rediss"):
        raise ImproperlyConfigured(f"REDIS_URL={url!r} must start with redis:// or rediss://")
    base = _database_of(url)
    return RedisDatabases(broker=_with_database(url, base + BROKER), channels=_with_database(url, base + CHANNELS),
                          cache=_with_database(url, base + CACHE))
