"""Checkpoint files for workers that share no disk with the web host: fetched from the web by content hash.

A checkpoint row names its file by a path on the web host (under MEDIA_ROOT, or a shipped demo in the
project) and by the sha256 of its tensors (`content_hash`). A worker uses the file at that path when it has
one whose recorded hash is the row's (the web host's own worker, a shared volume, the same demo in its own
clone); otherwise it fetches the file from the web (TRM_WEB_URL) into its cache (TRM_CHECKPOINT_CACHE),
checks the hash of every tensor on arrival, and only then moves it into place under the hash's name. A
half-downloaded or mismatching file is never used: it lives under a temporary name until it has passed.

Why HTTP from the web rather than object storage (S3 through django-storages): the web already holds
every checkpoint and every worker already needs its URL and the deployment's DJANGO_SECRET_KEY, so a
fleet needs no bucket, no storage credentials and no second copy of the files. A deployment that keeps
MEDIA_ROOT on object storage can mount it on the workers instead (docs/deploy.md), which the local-file
rule above serves as it is.

The credential: a worker proves it holds the deployment's DJANGO_SECRET_KEY with an HMAC of the hash it
asks for (`worker_credential`), which only the web and its workers can compute; the key itself never
travels, and a credential opens one checkpoint file only.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from puzzles.services.model_cache import checkpoint_file

logger = logging.getLogger(__name__)

CREDENTIAL_SCHEME = "TRM-Worker"
CHUNK_BYTES = 1 << 20
PROGRESS_EVERY_BYTES = 256 << 20  # a multi-GB checkpoint logs its progress every 256 MiB


class CheckpointFetchError(Exception):
    """The file could not be fetched or did not pass its hash check; the message says why (for the log)."""


def digest_of(content_hash: str) -> str:
    """The hex digest of a content hash ("sha256:<hex>")."""
    return content_hash.removeprefix("sha256:")


def worker_credential(content_hash: str) -> str:
    """What a worker presents to fetch the file of `content_hash`: an HMAC under the deployment's secret."""
    message = f"trm-worker-checkpoint-file:{content_hash}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def credential_is_valid(content_hash: str, presented: str) -> bool:
    return hmac.compare_digest(worker_credential(content_hash), presented)


def checkpoint_local_path(path: str, content_hash: str) -> Path:
    """A file on this machine holding the checkpoint `content_hash`, fetched from the web if need be.

    Raises CheckpointFetchError when neither this machine nor the web has it (or the web's bytes do not
    hash to `content_hash`)."""
    local = checkpoint_file(path)
    if _recorded_hash(local) == content_hash:
        return local
    cached = _cache_folder() / f"{digest_of(content_hash)}.safetensors"
    if cached.exists():
        os.utime(cached)  # least recently used goes first when the cache is full
        return cached
    if not settings.TRM_WEB_URL:
        return local  # a single-host deployment: the load reports the missing or changed file
    _cache_folder().mkdir(parents=True, exist_ok=True)
    with open(cached.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process of this worker may be fetching it right now
        if not cached.exists():
            _fetch(content_hash, cached)
    return cached


def _recorded_hash(file: Path) -> str | None:
    """The content hash a project file records in its header (no tensor read), None if there is none."""
    from solver.checkpoint import CheckpointError, checkpoint_info, is_project_file

    try:
        return checkpoint_info(file)["content_hash"] if file.is_file() and is_project_file(file) else None
    except (CheckpointError, OSError):
        return None


def _cache_folder() -> Path:
    return Path(settings.TRM_CHECKPOINT_CACHE)


def _fetch(content_hash: str, destination: Path) -> None:
    url = f"{settings.TRM_WEB_URL.rstrip('/')}/api/v1/worker/checkpoints/{digest_of(content_hash)}/file"
    request = urllib.request.Request(url, headers={"Authorization": f"{CREDENTIAL_SCHEME} {worker_credential(content_hash)}"})
    partial = destination.with_name(f"{destination.name}.partial-{os.getpid()}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(partial, "wb") as out:
            size = int(response.headers.get("Content-Length") or 0)
            cache_make_room(size, keep=destination)
            logger.info("fetching checkpoint %s (%s bytes) from %s", content_hash, f"{size:,}", settings.TRM_WEB_URL)
            received, next_report = 0, PROGRESS_EVERY_BYTES
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
                if received >= next_report:
                    rate = received / max(time.monotonic() - started, 1e-6) / 2**20
                    logger.info("checkpoint %s: %s of %s bytes (%.0f MiB/s)", content_hash, f"{received:,}", f"{size:,}", rate)
                    next_report += PROGRESS_EVERY_BYTES
        if size and received != size:
            raise CheckpointFetchError(f"the web sent {received:,} of {size:,} bytes")
        _check_hash(partial, content_hash)
        os.replace(partial, destination)
    except urllib.error.HTTPError as error:
        raise CheckpointFetchError(f"the web answered {error.code} for checkpoint {content_hash} ({url})") from None
    except (urllib.error.URLError, OSError) as error:
        raise CheckpointFetchError(f"could not fetch checkpoint {content_hash} from {url}: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    logger.info("fetched checkpoint %s in %.1f s into %s", content_hash, time.monotonic() - started, destination)


def _check_hash(file: Path, content_hash: str) -> None:
    """Every tensor of `file` hashed: the fetched file is the checkpoint it claims to be, or it is refused."""
    from solver.checkpoint import CheckpointError, content_hash as tensors_hash, read_project

    try:
        tensors, _config, _provenance = read_project(file)
    except CheckpointError as error:
        raise CheckpointFetchError(f"the fetched file of {content_hash} is not a readable checkpoint: {error}") from None
    actual = tensors_hash(tensors)
    if actual != content_hash:
        raise CheckpointFetchError(f"the fetched file hashes to {actual}, not {content_hash}; it was not used")


def cache_make_room(incoming: int, *, keep: Path) -> None:
    """Delete the least recently used cached checkpoints until `incoming` more bytes fit under
    TRM_CHECKPOINT_CACHE_BYTES; refuse a file larger than the whole cap."""
    cap = settings.TRM_CHECKPOINT_CACHE_BYTES
    if incoming > cap:
        raise CheckpointFetchError(f"the checkpoint is {incoming:,} bytes, more than this worker's cache holds "
                                   f"(TRM_CHECKPOINT_CACHE_BYTES={cap:,})")
    files = sorted((f for f in _cache_folder().glob("*.safetensors") if f != keep), key=lambda f: f.stat().st_mtime)
    used = sum(f.stat().st_size for f in files)
    while files and used + incoming > cap:
        oldest = files.pop(0)
        used -= oldest.stat().st_size
        oldest.unlink(missing_ok=True)
        logger.info("removed %s from the checkpoint cache to make room", oldest.name)
