"""deploy/nginx/trm-playground.conf for real: Debian's nginx in front of daphne and a worker, as in production.

The shipped site file is run with only its addresses changed (listen port, daphne's port, the static
folder): a solve and its stream pass through it, a body over 20 MiB is refused by nginx before daphne sees
it, static files come from the folder, and a client cannot choose its identity by sending X-Forwarded-For.
"""

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from websockets.sync.client import connect

from tests.conftest import PROJECT_DIR
from tests.stack import HttpClient, Stack, database_url_for_subprocess, flush_redis, free_port, private_redis_url

pytestmark = pytest.mark.stack

SITE = PROJECT_DIR / "deploy" / "nginx" / "trm-playground.conf"
SUDOKU = "..3.2.6..9..3.5..1..18.64....81.29..7.......8..67.82....26.95..8..2.3..9..5.1.3.."
SUBMITS_PER_MINUTE = 3


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def render_site(listen_port: int, daphne_port: int, static_root: Path) -> str:
    site = SITE.read_text()
    for pattern, replacement in ((r"listen 80;", f"listen 127.0.0.1:{listen_port};"),
                                 (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{daphne_port};"),
                                 (r"alias /srv/trm-playground/var/staticfiles/;", f"alias {static_root}/;")):
        site, count = re.subn(pattern, replacement, site)
        assert count == 1, f"{SITE} no longer has {pattern!r}: update this test with it"
    return site


def passes_requests(port: int) -> bool:
    try:
        return HttpClient(f"http://127.0.0.1:{port}").request("GET", "/api/v1/checkpoints/")[0] == 200
    except urllib.error.URLError:
        return False


@pytest.fixture
def behind_nginx(django_db_setup, django_db_blocker, redis_url, tmp_path):
    nginx = nginx_binary()
    if nginx is None:
        pytest.fail("Debian's nginx is needed for this test: `make test` installs it when run as root "
                    "(else: sudo apt-get install nginx)")
    own_redis = private_redis_url(redis_url, 3)
    flush_redis(own_redis)  # no rate counters or queue of an earlier test
    with django_db_blocker.unblock():
        database_url = database_url_for_subprocess()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url, REDIS_URL=own_redis, TRM_DEVICE="cpu", TRM_TRUSTED_PROXIES="1",
               TRM_SUBMIT_RATE_ANON=f"{SUBMITS_PER_MINUTE}/min", TRM_MAX_ACTIVE_JOBS="100")
    with Stack(env=env, cwd=PROJECT_DIR, log_dir=tmp_path) as stack:
        port = free_port()
        (tmp_path / "nginx").mkdir()
        (tmp_path / "site.conf").write_text(render_site(port, stack.port, tmp_path / "static"))
        (tmp_path / "nginx.conf").write_text(f"""
user root;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {tmp_path}/nginx-access.log;
    client_body_temp_path {tmp_path}/nginx/body;
    proxy_temp_path {tmp_path}/nginx/proxy;
    fastcgi_temp_path {tmp_path}/nginx/fastcgi;
    uwsgi_temp_path {tmp_path}/nginx/uwsgi;
    scgi_temp_path {tmp_path}/nginx/scgi;
    include {tmp_path}/site.conf;
}}
""")
        checked = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen([nginx, "-c", str(tmp_path / "nginx.conf")], stderr=subprocess.STDOUT,
                                   stdout=open(tmp_path / "nginx.log", "wb"))
        try:
            stack.wait_until(lambda: passes_requests(port), 30, "nginx did not pass a request to daphne")
            yield stack, port
        finally:
            process.terminate()
            process.wait(timeout=15)


def test_a_solve_and_its_stream_pass_through_nginx(behind_nginx, active_checkpoints):
    stack, port = behind_nginx
    status, job = HttpClient(f"http://127.0.0.1:{port}").request(
        "POST", "/api/v1/jobs/", {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 2})
    assert status == 202, job

    with connect(f"ws://127.0.0.1:{port}{job['stream']}", open_timeout=10,
                 origin=f"http://127.0.0.1:{port}") as socket:
        messages = []
        while not messages or messages[-1]["type"] != "status":
            messages.append(json.loads(socket.recv(timeout=60)))
    assert [m["step"] for m in messages if m["type"] == "step"] == [1, 2]
    assert messages[-1]["status"] == "done"


def test_a_body_over_20_mib_is_refused_by_nginx(behind_nginx):
    _, port = behind_nginx
    body = json.dumps({"kind": "sudoku", "puzzle": {"grid": "." * 81}, "padding": "x" * (21 << 20)}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/jobs/", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert "nginx" in refused.value.read().decode()  # nginx's own page: daphne never saw the body


def test_static_files_come_from_the_collected_folder(behind_nginx):
    _, port = behind_nginx
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/js/gallery.js", timeout=10) as response:
        assert response.status == 200
        assert response.read() == (PROJECT_DIR / "static" / "js" / "gallery.js").read_bytes()


def test_a_client_cannot_choose_its_identity_through_nginx(behind_nginx, active_checkpoints):
    stack, port = behind_nginx
    body = {"kind": "sudoku", "puzzle": {"grid": SUDOKU}, "steps": 1}

    def submit(base_url: str, pretend: str) -> int:
        return HttpClient(base_url).request("POST", "/api/v1/jobs/", body, {"X-Forwarded-For": pretend})[0]

    through_nginx = [submit(f"http://127.0.0.1:{port}", f"10.0.0.{i}") for i in range(SUBMITS_PER_MINUTE + 1)]
    assert through_nginx == [202] * SUBMITS_PER_MINUTE + [429]  # nginx wrote the real address over each

    # What nginx protects against: the web believes the one proxy in front of it, so a client reaching
    # daphne directly (which the web host's firewall and HOST=127.0.0.1 prevent) could pick a new address.
    direct = [submit(stack.base_url, f"10.1.0.{i}") for i in range(SUBMITS_PER_MINUTE + 1)]
    assert direct == [202] * (SUBMITS_PER_MINUTE + 1)
