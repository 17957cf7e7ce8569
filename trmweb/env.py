"""Strict readers of environment variables for the settings.

Every reader has a working default so a fresh checkout runs, and fails loudly (naming the variable and
what is allowed) on a value it cannot parse, instead of silently falling back.
"""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not allowed; use one of {', '.join(choices)}")
    return value


_RATE_PERIODS = ("sec", "min", "hour", "day")
# What Django REST framework reads (it looks at the first letter only, so "30/mango" would be 30 a minute).
_RATE_SPELLINGS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str:
    """A request rate as `<count>/<sec|min|hour|day>`, checked here: Django REST framework would read only
    the period's first letter and fail on the first request, not at start."""
    value = os.environ.get(name, default).strip()
    count, _, period = value.partition("/")
    if not (count.isdigit() and int(count) > 0 and period in _RATE_SPELLINGS):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate; write <count>/<{'|'.join(_RATE_PERIODS)}>, e.g. 30/min")
    return value


TrustedProxies = int | tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def env_trusted_proxies(name: str) -> TrustedProxies:
    """The proxies whose X-Forwarded-For is believed: a count of proxies in front (`1`), or the proxies'
    own addresses and networks (`10.0.0.5,192.168.0.0/16`). Unset or empty: none, 0."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return 0
    if raw.isdigit():
        return int(raw)
    networks = []
    for item in raw.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item.strip()!r} is not an address or network; use a count of proxies (e.g. 1) "
                "or comma-separated addresses/CIDRs (e.g. 10.0.0.5,192.168.0.0/16)") from None
    return tuple(networks)
