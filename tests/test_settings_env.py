"""Settings read from the environment: strict parsing, working defaults, loud failures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from trmweb.env import env_bool, env_choice, env_int

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
