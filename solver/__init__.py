"""TRM (Tiny Recursive Model) as a small PyTorch library: model, checkpoints, codecs, step-by-step inference.

No Django here: the web side calls `load_checkpoint` once and iterates `solve_steps`.

The names below are imported on first use (PEP 562), so that importing a torch-free module of the package
(`solver.codecs`, `solver.limits`, the dataset builders) does not import torch with it.
"""

import importlib

_EXPORTS = {
    "TRM": "solver.model", "TRMConfig": "solver.config", "Codec": "solver.codecs", "Grid": "solver.codecs",
    "PuzzleError": "solver.codecs", "codec_for": "solver.codecs", "CheckpointError": "solver.checkpoint",
    "load_checkpoint": "solver.checkpoint", "save_checkpoint": "solver.checkpoint",
    "checkpoint_info": "solver.checkpoint", "StepResult": "solver.inference", "solve_steps": "solver.inference",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'solver' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
