"""TRM (Tiny Recursive Model) as a small PyTorch library: model, checkpoints, codecs, step-by-step inference.

No Django here: the web side calls `load_checkpoint` once and iterates `solve_steps`.
"""

from solver.checkpoint import CheckpointError, checkpoint_info, load_checkpoint, save_checkpoint
from solver.codecs import Codec, Grid, PuzzleError, codec_for
from solver.config import TRMConfig
from solver.inference import StepResult, solve_steps
from solver.model import TRM

__all__ = [
    "TRM", "TRMConfig", "Codec", "Grid", "PuzzleError", "codec_for", "CheckpointError", "load_checkpoint",
    "save_checkpoint", "checkpoint_info", "StepResult", "solve_steps",
]
