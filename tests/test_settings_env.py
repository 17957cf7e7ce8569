"""Settings read from the environment: strict parsing, working defaults, loud failures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from trmweb.env import env_bool, env_choice, env_int, env_rate

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("On", True), ("0", False), ("false", False), ("", False)])
def test_booleans_are_read_strictly(monkeypatch, raw, value):
    monkeypatch.setenv("TRM_FLAG", raw)
    assert env_bool("TRM_FLAG", not value) is value


def test_a_boolean_that_is_not_one_fails_loudly(monkeypatch):
    monkeypatch.setenv("TRM_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="TRM_FLAG='maybe' is not a boolean"):
        env_bool("TRM_FLAG", False)


def test_integers_and_choices_name_the_variable(monkeypatch):
    monkeypatch.setenv("TRM_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="TRM_N='ten' is not an integer"):
        env_int("TRM_N", 1)
    monkeypatch.setenv("TRM_N", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        env_int("TRM_N", 1, minimum=1)
    monkeypatch.setenv("TRM_Q", "tpu")
    with pytest.raises(ImproperlyConfigured, match="use one of cpu, gpu"):
        env_choice("TRM_Q", "cpu", ("cpu", "gpu"))


@pytest.mark.parametrize("raw", ["30/min", "1/sec", "5/hour", "100/day", "2/m", "10/second"])
def test_a_rate_drf_reads_is_taken(monkeypatch, raw):
    monkeypatch.setenv("TRM_R", raw)
    assert env_rate("TRM_R", "1/min") == raw


@pytest.mark.parametrize("raw", ["30", "30/mango", "0/min", "-1/min", "ten/min", "30/min/2", ""])
def test_a_rate_that_is_not_one_fails_at_start_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("TRM_R", raw)
    with pytest.raises(ImproperlyConfigured, match=r"TRM_R=.* is not a rate; write <count>/<sec\|min\|hour\|day>"):
        env_rate("TRM_R", "1/min")


def test_the_settings_refuse_a_bad_submit_rate_before_serving():
    loaded = _load_settings(DJANGO_SECRET_KEY="k", TRM_SUBMIT_RATE_USER="120/minutes please")
    assert loaded.returncode != 0
    assert "TRM_SUBMIT_RATE_USER='120/minutes please' is not a rate" in loaded.stderr


def _load_settings(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "trmweb.settings", **env}, cwd=PROJECT_DIR, capture_output=True, text=True,
    )


def test_without_debug_a_secret_key_is_required():
    loaded = _load_settings()
    assert loaded.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in loaded.stderr


def test_debug_is_off_unless_asked_and_sqlite_is_the_default():
    loaded = _load_settings(DJANGO_SECRET_KEY="k")
    assert loaded.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_postgres_urls_are_understood_and_others_refused():
    assert "postgresql" in _load_settings(DJANGO_SECRET_KEY="k", DATABASE_URL="postgres://u@localhost/db").stdout
    refused = _load_settings(DJANGO_SECRET_KEY="k", DATABASE_URL="mysql://u@localhost/db")
    assert refused.returncode != 0 and "use sqlite:// or postgres://" in refused.stderr


def test_sqlite_connections_are_tuned_for_concurrent_writers(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the SQLite tuning only applies to SQLite")
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def _manage(*args: str, **env) -> subprocess.CompletedProcess:
    """manage.py in a process of its own, configured by `env` alone (no DJANGO_* of this one)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "manage.py", *args], env={**clean, "DJANGO_SETTINGS_MODULE": "trmweb.settings", **env},
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)


# A production-like key (50 random characters), never used anywhere else.
PRODUCTION = {"DJANGO_SECRET_KEY": "q7#Vx2!mZp9@Lr4$Tn8^Wb1&Kc6*Hd3(Jf5)Gs0-Ya7+Ue2=Ro", "DJANGO_DEBUG": "0",
              "DJANGO_ALLOWED_HOSTS": "trm.example.org,testserver"}


def test_the_deployment_check_passes_with_the_production_switch():
    checked = _manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_SECURE="1", **PRODUCTION)

    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout


def test_without_the_production_switch_the_deployment_check_warns():
    checked = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert checked.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in checked.stderr


SECURE_REQUESTS = """
from django.test import Client
http, https = Client(), Client(HTTP_X_FORWARDED_PROTO="https")
plain = http.get("/api/v1/schema/")
print("plain", plain.status_code, plain.get("Location"))
secure = https.get("/api/v1/schema/")
print("secure", secure.status_code, secure.get("Strict-Transport-Security"))
print("health", http.get("/healthz").status_code)
from django.conf import settings
print("cookies", settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)
"""


def test_the_production_switch_redirects_to_https_and_sends_hsts_but_lets_health_probes_in():
    answered = _manage("shell", "-c", SECURE_REQUESTS, DJANGO_SECURE="1", **PRODUCTION)

    # The shell prints a banner of its own first; only the script's lines are read.
    lines = dict(line.split(" ", 1) for line in answered.stdout.splitlines()
                 if line.startswith(("plain ", "secure ", "health ", "cookies ")))
    assert lines["plain"] == "301 https://testserver/api/v1/schema/", answered.stderr
    assert lines["secure"] == "200 max-age=31536000; includeSubDomains; preload"
    assert lines["health"] != "301"
    assert lines["cookies"] == "True True"
