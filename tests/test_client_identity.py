"""Who a client is (puzzles/client_identity.py): X-Forwarded-For counts only as written by a trusted proxy,
and every per-client limit (submit rate, examples, unfinished jobs, sockets) goes by that one identity."""

import ipaddress
import os

import pytest
import redis
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from websockets.sync.client import connect

from puzzles.client_identity import client_address
from puzzles.models import SolveJob
from tests.stack import database_url_for_subprocess
from tests.test_websocket_limits import Daphne, wait_for
from trmweb.env import env_trusted_proxies
from trmweb.redis_databases import redis_databases

SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
BODY = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2}


def networks(*items: str) -> tuple:
    return tuple(ipaddress.ip_network(item) for item in items)


def submit(forwarded_for: str | None = None):
    """A submit from a script without cookies (a fresh client each time), from 127.0.0.1."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return Client().post("/api/v1/jobs/", BODY, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        (0, "10.0.0.5", "203.0.113.9", "10.0.0.5"),
        (1, "10.0.0.5", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.5", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.4", "203.0.113.9"),
        (2, "10.0.0.5", "203.0.113.9", "10.0.0.5"),
        (1, "10.0.0.5", "not-an-address", "10.0.0.5"),
        (networks("10.0.0.0/24"), "10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.4", "203.0.113.9"),
        (networks("10.0.0.0/24"), "192.0.2.1", "203.0.113.9", "192.0.2.1"),
        (networks("10.0.0.0/24"), "10.0.0.5", "10.0.0.7, 10.0.0.4", "10.0.0.7"),
        (networks("10.0.0.0/24"), "10.0.0.5", "junk, 10.0.0.4", "10.0.0.4"),
        (networks("10.0.0.5/32", "2001:db8::/32"), "2001:db8::1", "2001:DB8:0:0::2, 203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.5", None, "10.0.0.5"),
    ],
    ids=["untrusted-header-ignored", "count-1", "count-1-forged-prefix", "count-2", "count-2-short-header",
         "count-garbage", "cidr-walk", "cidr-untrusted-peer", "cidr-all-proxies", "cidr-garbage", "cidr-ipv6",
         "no-header"],
)
def test_the_client_is_the_address_the_trusted_proxy_saw(settings, trusted, peer, forwarded_for, client):
    settings.TRM_TRUSTED_PROXIES = trusted

    assert client_address(peer=peer, forwarded_for=forwarded_for) == client


def test_the_trusted_proxies_setting_is_read_strictly(monkeypatch):
    monkeypatch.setenv("TRM_TRUSTED_PROXIES", "2")
    assert env_trusted_proxies("TRM_TRUSTED_PROXIES") == 2
    monkeypatch.setenv("TRM_TRUSTED_PROXIES", " 10.0.0.5, 192.168.0.0/16 ")
    assert env_trusted_proxies("TRM_TRUSTED_PROXIES") == networks("10.0.0.5/32", "192.168.0.0/16")
    monkeypatch.setenv("TRM_TRUSTED_PROXIES", "10.0.0.5,proxy.local")
    with pytest.raises(ImproperlyConfigured, match="'proxy.local' is not an address or network"):
        env_trusted_proxies("TRM_TRUSTED_PROXIES")


def test_a_new_forwarded_for_on_every_request_is_still_the_same_client(active_checkpoints, jobs_stay_queued, settings):
    settings.TRM_SUBMIT_RATE_ANON = "2/min"
    settings.TRM_MAX_ACTIVE_JOBS = 100

    codes = [submit(f"203.0.113.{n}").status_code for n in range(3)]

    assert codes == [202, 202, 429]
    assert SolveJob.objects.count() == 2


def test_random_puzzles_are_limited_whatever_forwarded_for_says(db, settings):
    settings.TRM_SUBMIT_RATE_ANON = "2/min"

    codes = [Client().get("/api/v1/examples/maze/", {"size": 8}, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
             for n in range(3)]

    assert codes == [200, 200, 429]


@pytest.mark.parametrize("trusted", [1, networks("127.0.0.1/32")], ids=["count", "address"])
def test_behind_the_trusted_proxy_two_clients_are_two_clients(active_checkpoints, jobs_stay_queued, settings, trusted):
    settings.TRM_TRUSTED_PROXIES = trusted
    settings.TRM_SUBMIT_RATE_ANON = "1/min"

    first, second, first_again = submit("203.0.113.1"), submit("203.0.113.2"), submit("203.0.113.1")

    assert (first.status_code, second.status_code, first_again.status_code) == (202, 202, 429)
    assert sorted(SolveJob.objects.values_list("client_ip", flat=True)) == ["203.0.113.1", "203.0.113.2"]


def test_unfinished_jobs_are_counted_per_client_behind_the_proxy(active_checkpoints, jobs_stay_queued, settings):
    settings.TRM_TRUSTED_PROXIES = 1
    settings.TRM_MAX_ACTIVE_JOBS = 1

    codes = [submit(address).status_code for address in ("203.0.113.1", "203.0.113.2", "203.0.113.1")]

    assert codes == [202, 202, 429]


def test_without_a_trusted_proxy_unfinished_jobs_count_against_the_peer(active_checkpoints, jobs_stay_queued, settings):
    settings.TRM_MAX_ACTIVE_JOBS = 1

    codes = [submit(address).status_code for address in ("203.0.113.1", "203.0.113.2")]

    assert codes == [202, 429]


@pytest.fixture(scope="module")
def proxied_daphne(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    """daphne that trusts this machine (127.0.0.1) as its proxy."""
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=django_settings.SECRET_KEY,
               DATABASE_URL=database_url, REDIS_URL=redis_url, TRM_TRUSTED_PROXIES="127.0.0.1")
    server = Daphne(env, tmp_path_factory.mktemp("daphne") / "web.log").start()
    yield server
    server.stop()


@pytest.mark.stack
def test_sockets_behind_the_trusted_proxy_are_counted_per_client(proxied_daphne, redis_url, active_checkpoints):
    from puzzles.models import Puzzle

    job = SolveJob.objects.create(puzzle=Puzzle.objects.create(kind="sudoku", data={"grid": SUDOKU}),
                                  checkpoint=active_checkpoints["sudoku"], steps_requested=2, owner_key="session:test")
    leases = redis.Redis.from_url(redis_databases(redis_url).channels)  # where the socket slots live

    def held(address: str) -> int:
        return leases.zcard(f"trm:sockets:{address}")

    url = f"{proxied_daphne.ws_url}/ws/jobs/{job.id}/"
    with connect(url, additional_headers={"X-Forwarded-For": "203.0.113.1"}, open_timeout=10), \
            connect(url, additional_headers={"X-Forwarded-For": "203.0.113.2"}, open_timeout=10):
        wait_for(lambda: held("203.0.113.1") == 1 and held("203.0.113.2") == 1, "each client holds its own slot")
        assert held("127.0.0.1") == 0
    leases.close()
