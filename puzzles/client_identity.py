"""Who a client is, by network address: the one answer every per-client limit uses (submit and example
rates, unfinished jobs, open sockets, idempotency keys).

X-Forwarded-For is written by whoever sends the request, so it is believed only as far as it was written
by a proxy named in TRM_TRUSTED_PROXIES:
- unset: the header is ignored; the client is the connection's peer;
- a count N: N proxies stand in front and each appends the address it saw, so the client is the N-th
  entry from the right (a single nginx that sets `X-Forwarded-For $remote_addr` is N = 1);
- addresses/networks: only a peer inside them is a proxy; the entries are read from the right past every
  trusted proxy, and the first address outside them is the client.
An entry that is not an address (a misconfigured proxy) is never used as an identity: the last trusted hop
stands in, so the limits still hold, if coarser.
"""

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(*, peer: str | None, forwarded_for: str | None) -> str | None:
    """The client's address given the connection's `peer` and its X-Forwarded-For header (None: absent)."""
    trusted = settings.TRM_TRUSTED_PROXIES
    if not trusted or not forwarded_for or not peer:
        return peer
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
    if isinstance(trusted, int):
        # Fewer entries than proxies: the request skipped a proxy, so the header is nobody's word.
        chosen = _address(hops[-trusted]) if len(hops) >= trusted else None
        if chosen is None:
            logger.warning("X-Forwarded-For %r does not hold %d proxied addresses; using the peer %s",
                           forwarded_for, trusted, peer)
            return peer
        return str(chosen)
    nearest = _address(peer)
    if nearest is None or not any(nearest in network for network in trusted):
        return peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            logger.warning("X-Forwarded-For %r holds %r, not an address; using the proxy %s", forwarded_for, hop, nearest)
            break
        nearest = address
        if not any(address in network for network in trusted):
            break
    return str(nearest)


def request_client_address(request) -> str | None:
    """client_address of a Django (or DRF) request."""
    return client_address(peer=request.META.get("REMOTE_ADDR") or None,
                          forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"))


def scope_client_address(scope: dict) -> str | None:
    """client_address of an ASGI connection scope (a WebSocket's)."""
    peer = (scope.get("client") or [None])[0] or None
    # ASGI headers are (lower-case name, value) byte pairs; repeated headers are joined as HTTP allows.
    values = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
    return client_address(peer=peer, forwarded_for=",".join(values) if values else None)
