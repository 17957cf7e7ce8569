"""Checkpoints loaded once per worker process and kept in a small least-recently-used cache.

Keyed by file and content hash, so replacing a checkpoint's file (a new hash) loads the new weights
while jobs of other checkpoints keep theirs.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from django.conf import settings

# solver.checkpoint and torch are imported where a model is read, not here: the web process imports this
# module (checkpoint_file) and never loads a model.

logger = logging.getLogger(__name__)

CACHE_SIZE = 3
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def checkpoint_file(path: str) -> Path:
    file = Path(path)
    return file if file.is_absolute() else Path(settings.BASE_DIR) / file


def cached_model(path: str, content_hash: str, *, device: str = "cpu"):
    """(model, config) for a checkpoint on `device`, loading it on first use (from the web when this machine
    does not have its file: puzzles/services/checkpoint_transfer.py)."""
    from puzzles.services.checkpoint_transfer import checkpoint_local_path
    from solver.checkpoint import load_checkpoint

    key = (str(checkpoint_file(path)), content_hash, device, settings.TRM_CPU_DTYPE)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        started = time.monotonic()
        file = checkpoint_local_path(path, content_hash)
        # On a CPU, TRM_CPU_DTYPE (solver.devices.compute_dtype reads it); elsewhere the trained dtype.
        loaded = load_checkpoint(file, device=device, dtype=settings.TRM_CPU_DTYPE if device == "cpu" else None)
        logger.info("loaded checkpoint %s on %s in %.2f s", file.name, device, time.monotonic() - started)
        _cache[key] = loaded
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return loaded


@functools.lru_cache(maxsize=CACHE_SIZE)
def cached_identifiers(path: str, content_hash: str) -> tuple[str, ...] | None:
    """The names of an ARC checkpoint's puzzle-embedding rows, read from its file once per process (the
    database row keeps only their count; see puzzles.services.checkpoints.checkpoint_register)."""
    from puzzles.services.checkpoint_transfer import checkpoint_local_path
    from solver.checkpoint import checkpoint_info

    names = checkpoint_info(checkpoint_local_path(path, content_hash))["provenance"].get("puzzle_identifiers")
    return tuple(names) if isinstance(names, list) else None
