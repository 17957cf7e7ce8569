"""Checkpoints loaded once per worker process and kept in a small least-recently-used cache.

Keyed by file and content hash, so replacing a checkpoint's file (a new hash) loads the new weights
while jobs of other checkpoints keep theirs.
"""

import functools
import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings

import torch

from solver.checkpoint import checkpoint_info, load_checkpoint

CACHE_SIZE = 3
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def checkpoint_file(path: str) -> Path:
    file = Path(path)
    return file if file.is_absolute() else Path(settings.BASE_DIR) / file


def compute_dtype(path: str, device: str) -> torch.dtype | None:
    """None (load_checkpoint's choice: fp32 on a CPU) unless TRM_CPU_DTYPE asks for the trained dtype."""
    if device != "cpu" or settings.TRM_CPU_DTYPE == "float32":
        return None
    return getattr(torch, checkpoint_info(checkpoint_file(path))["config"]["forward_dtype"])


def cached_model(path: str, content_hash: str, *, device: str = "cpu"):
    """(model, config) for a checkpoint on `device`, loading it on first use."""
    key = (str(checkpoint_file(path)), content_hash, device, settings.TRM_CPU_DTYPE)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        loaded = load_checkpoint(checkpoint_file(path), device=device, dtype=compute_dtype(path, device))
        _cache[key] = loaded
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return loaded


@functools.lru_cache(maxsize=CACHE_SIZE)
def cached_identifiers(path: str, content_hash: str) -> tuple[str, ...] | None:
    """The names of an ARC checkpoint's puzzle-embedding rows, read from its file once per process (the
    database row keeps only their count; see puzzles.services.checkpoints.checkpoint_register)."""
    names = checkpoint_info(checkpoint_file(path))["provenance"].get("puzzle_identifiers")
    return tuple(names) if isinstance(names, list) else None
