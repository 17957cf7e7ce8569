"""Checkpoints in the Hugging Face layout: a folder with `config.json`, `model.safetensors` and a model card.

What someone who keeps models on the Hugging Face Hub expects to find: the weights as plain safetensors
under the model's own parameter names, the shape in `config.json` (`model_type: "trm"`, the TRMConfig
fields under `trm_config`, the provenance beside them), and a README.md that says what the model is and
how it was made. `python -m solver export CHECKPOINT DIR --format hf` writes one; every reader of
checkpoints here (solve, info, evaluate, `manage.py add_checkpoint`) reads such a folder back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from solver.config import TRMConfig

CONFIG_FILE, WEIGHTS_FILE, CARD_FILE = "config.json", "model.safetensors", "README.md"
MODEL_TYPE = "trm"


def is_hf_folder(path: Path) -> bool:
    """Whether `path` is a folder in this layout (a config.json naming a TRM, and the weights beside it)."""
    config = path / CONFIG_FILE
    if not (path.is_dir() and config.is_file() and (path / WEIGHTS_FILE).is_file()):
        return False
    try:
        return json.loads(config.read_text()).get("model_type") == MODEL_TYPE
    except (ValueError, OSError):
        return False


def write_hf(tensors: dict[str, torch.Tensor], config: TRMConfig, provenance: dict, folder: Path) -> Path:
    """Write the folder; returns it. Tensors keep their dtype and bytes (the content hash is unchanged)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values()})
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(json.dumps({
        "model_type": MODEL_TYPE, "architectures": ["TinyRecursiveModel"], "torch_dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
        "trm_config": config.to_dict(), "provenance": provenance,
    }, indent=2, default=str) + "\n")
    (folder / CARD_FILE).write_text(model_card(config, provenance, tensors))
    return folder


def read_hf(folder: Path) -> tuple[dict[str, torch.Tensor], TRMConfig, dict[str, Any]]:
    """Tensors (stored dtypes), config and provenance of a folder in this layout."""
    from safetensors.torch import load_file

    meta = json.loads((folder / CONFIG_FILE).read_text())
    config = TRMConfig.from_dict(meta["trm_config"])
    return load_file(str(folder / WEIGHTS_FILE)), config, dict(meta.get("provenance") or {})


def model_card(config: TRMConfig, provenance: dict, tensors: dict[str, torch.Tensor]) -> str:
    evaluation = provenance.get("evaluation") or {}
    figures = ", ".join(f"{key} {value:.1%}" for key, value in evaluation.items()
                        if key in ("exact_accuracy", "valid_shortest_path", "pass@1", "pass@2") and isinstance(value, float))
    trained = provenance.get("trained")
    return "\n".join([
        "---", "library_name: trm-playground", "tags: [tiny-recursive-model, trm, " + config.kind + "]", "---", "",
        f"# Tiny Recursive Model: {config.kind} ({config.variant})", "",
        f"A Tiny Recursive Model (\"Less is More: Recursive Reasoning with Tiny Networks\", 2025) for {config.kind} "
        f"puzzles: hidden size {config.hidden_size}, {config.L_layers} layers, H_cycles {config.H_cycles}, L_cycles "
        f"{config.L_cycles}, {config.halt_max_steps} supervision steps, {config.seq_len} positions, "
        f"{sum(t.numel() for name, t in tensors.items() if name != 'puzzle_emb.weights'):,} parameters.", "",
        "- trained: " + {True: f"yes, {provenance.get('training_step', '?')} updates", False: "no (random weights)",
                         None: "unknown"}[trained],
        f"- held-out figures: {figures}" if figures else "- held-out figures: none recorded",
        f"- made by: {provenance.get('made_by', 'unknown')}", "",
        "Load it with `python -m solver solve --checkpoint THIS_FOLDER --input PUZZLE` (TRM Playground), or read",
        "`config.json` (`trm_config`) and `model.safetensors` with your own code.", "",
    ])
