"""Checkpoints loaded once per worker process and kept in a small least-recently-used cache.

Keyed by file and content hash, so replacing a checkpoint's file (a new hash) loads the new weights
while jobs of other checkpoints keep theirs.
"""

import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings

from solver.checkpoint import load_checkpoint

CACHE_SIZE = 3
_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()


def checkpoint_file(path: str) -> Path:
    file = Path(path)
    return file if file.is_absolute() else Path(settings.BASE_DIR) / file


def cached_model(path: str, content_hash: str, *, device: str = "cpu"):
    """(model, config) for a checkpoint on `device`, loading it on first use."""
    key = (str(checkpoint_file(path)), content_hash, device)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        loaded = load_checkpoint(checkpoint_file(path), device=device)
        _cache[key] = loaded
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return loaded
