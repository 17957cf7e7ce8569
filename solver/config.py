"""The shape of a TRM network, as one dataclass.

Every number that decides which tensors a checkpoint holds, or how a forward pass runs, lives here, so a
checkpoint is fully described by its weights plus one `TRMConfig`. The defaults are the published
attention model (hidden 512, 2 layers, 16 supervision steps); `for_kind` fills in the puzzle-dependent
sizes (sequence length, vocabulary) that the reference code takes from its dataset instead of its config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from solver.codecs import MIN_MAZE_FIELD, maze_field

KINDS = ("sudoku", "maze", "arc")
POS_ENCODINGS = ("rope", "learned", "none")
DTYPES = ("float32", "bfloat16", "float16")

# Sizes each puzzle kind's tokenisation fixes (see solver/codecs.py). The number of puzzle identifiers is
# 1 (only "<blank>") for Sudoku and mazes; ARC has one per task and augmentation, known from the weights.
KIND_SHAPES: dict[str, dict[str, int]] = {
    "sudoku": {"seq_len": 81, "vocab_size": 11},
    "maze": {"seq_len": 900, "vocab_size": 6},
    "arc": {"seq_len": 900, "vocab_size": 12},
}


# The published models (paper / reference README): Sudoku uses the MLP-over-sequence variant without
# position encoding and 6 L cycles; mazes and ARC use attention with RoPE and 4 L cycles.
PUBLISHED: dict[str, dict[str, Any]] = {
    "sudoku": {"mlp_t": True, "pos_encodings": "none", "H_cycles": 3, "L_cycles": 6},
    "maze": {"mlp_t": False, "pos_encodings": "rope", "H_cycles": 3, "L_cycles": 4},
    "arc": {"mlp_t": False, "pos_encodings": "rope", "H_cycles": 3, "L_cycles": 4},
}


def seq_len_problem(kind: str, seq_len: int) -> str | None:
    """What is wrong with a kind's sequence length, or None: mazes and ARC may use any square field or canvas
    up to 30x30 (see solver/codecs.py), Sudoku only its fixed size."""
    shape = KIND_SHAPES.get(kind)
    if shape is None:
        return None
    if kind in ("maze", "arc"):
        if maze_field(seq_len) is None:
            return (f"{kind} models need a seq_len that fills a square {'field' if kind == 'maze' else 'canvas'} of "
                    f"{MIN_MAZE_FIELD}x{MIN_MAZE_FIELD} to 30x30 cells, not {seq_len}")
    elif seq_len != shape["seq_len"]:
        return f"{kind} models have seq_len {shape['seq_len']}, not {seq_len}"
    return None


def kind_of_shape(vocab_size: int, seq_len: int) -> str | None:
    """The puzzle kind whose vocabulary and sequence length these are (the codecs fix both), or None."""
    for kind, shape in KIND_SHAPES.items():
        if shape["vocab_size"] == vocab_size and seq_len_problem(kind, seq_len) is None:
            return kind
    return None


def ceil_div(a: int, b: int) -> int:
    return -(a // -b)


@dataclass(frozen=True)
class TRMConfig:
    kind: str  # puzzle kind: 'sudoku' | 'maze' | 'arc'; picks the codec
    seq_len: int  # answer positions (81 for Sudoku, 30*30 for maze and ARC; a smaller square for a maze field)
    vocab_size: int  # token ids per position, PAD included (11, 6, 12)
    num_puzzle_identifiers: int = 1  # rows of the puzzle-embedding table (1 = only the blank id 0)
    hidden_size: int = 512  # width of z_H, z_L and every token
    num_heads: int = 8  # attention heads (head size = hidden_size / num_heads); unused by mlp_t
    expansion: float = 4.0  # SwiGLU widening factor before rounding to a multiple of 256
    L_layers: int = 2  # blocks in the one shared network
    H_cycles: int = 3  # answer (z_H) updates per supervision step
    L_cycles: int = 6  # latent (z_L) updates before each answer update
    halt_max_steps: int = 16  # supervision steps run at evaluation
    pos_encodings: str = "rope"  # 'rope' | 'learned' | 'none'
    mlp_t: bool = False  # mix along the sequence with an MLP instead of attention (the Sudoku model)
    puzzle_emb_ndim: int = 512  # width of one puzzle embedding; 0 = no puzzle embedding
    puzzle_emb_len: int = 16  # prefix positions the puzzle embedding fills; 0 = ceil(ndim / hidden)
    rope_theta: float = 10000.0  # RoPE base
    rms_norm_eps: float = 1e-5  # epsilon of the (weightless, fp32) post-norm RMSNorm
    forward_dtype: str = "bfloat16"  # dtype the model was trained in; a CPU runs float32 regardless
    loss_type: str = "stablemax_cross_entropy"  # output normalisation trained with; turns logits into confidences

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.pos_encodings not in POS_ENCODINGS:
            problems.append(f"pos_encodings {self.pos_encodings!r} is not one of {', '.join(POS_ENCODINGS)}")
        if self.forward_dtype not in DTYPES:
            problems.append(f"forward_dtype {self.forward_dtype!r} is not one of {', '.join(DTYPES)}")
        for name in ("seq_len", "vocab_size", "num_puzzle_identifiers", "hidden_size", "num_heads",
                     "L_layers", "H_cycles", "L_cycles", "halt_max_steps"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.mlp_t and self.hidden_size % max(self.num_heads, 1):
            problems.append(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}")
        if (seq_len_wrong := seq_len_problem(self.kind, self.seq_len)) is not None:
            problems.append(seq_len_wrong)
        if self.puzzle_emb_ndim < 0 or self.puzzle_emb_len < 0:
            problems.append("puzzle_emb_ndim and puzzle_emb_len cannot be negative")
        # The reference reserves puzzle_emb_len prefix positions even without a puzzle embedding, which
        # then fails on shapes; a model without one must also have no prefix.
        if self.puzzle_emb_ndim == 0 and self.puzzle_emb_len != 0:
            problems.append("puzzle_emb_len must be 0 when puzzle_emb_ndim is 0 (no puzzle embedding)")
        if self.puzzle_emb_ndim > self.prefix_len * self.hidden_size:
            problems.append(f"puzzle_emb_ndim {self.puzzle_emb_ndim} does not fit in {self.prefix_len} "
                            f"positions of {self.hidden_size}")
        if problems:
            raise ValueError("invalid TRM config: " + "; ".join(problems))

    @property
    def prefix_len(self) -> int:
        """Positions in front of the tokens that hold the puzzle embedding (and carry the halting read-out)."""
        if self.puzzle_emb_len:
            return self.puzzle_emb_len
        return ceil_div(self.puzzle_emb_ndim, self.hidden_size)

    @property
    def total_len(self) -> int:
        """Length of z_H and z_L: puzzle prefix plus answer positions."""
        return self.prefix_len + self.seq_len

    @property
    def variant(self) -> str:
        """Short human name of the architecture, e.g. 'attention+rope' or 'mlp_t'."""
        mixer = "mlp_t" if self.mlp_t else "attention"
        if self.mlp_t and self.pos_encodings != "learned":
            return mixer  # RoPE is built but never used without attention
        return f"{mixer}+{self.pos_encodings}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TRMConfig":
        """Build from a dict, ignoring keys this version does not know (newer files stay readable)."""
        known = {f.name: f for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        missing = [name for name in ("kind", "seq_len", "vocab_size") if name not in values]
        if missing:
            raise ValueError(f"config is missing {', '.join(missing)}")
        for name in ("seq_len", "vocab_size", "num_puzzle_identifiers", "hidden_size", "num_heads", "L_layers",
                     "H_cycles", "L_cycles", "halt_max_steps", "puzzle_emb_ndim", "puzzle_emb_len"):
            if name in values:
                values[name] = int(values[name])
        for name in ("expansion", "rope_theta", "rms_norm_eps"):
            if name in values:
                values[name] = float(values[name])
        if "mlp_t" in values:
            values["mlp_t"] = bool(values["mlp_t"])
        return cls(**values)

    @classmethod
    def for_kind(cls, kind: str, **overrides: Any) -> "TRMConfig":
        """The published model for `kind` (its sequence length, vocabulary and variant), with overrides."""
        if kind not in KIND_SHAPES:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        return cls(kind=kind, **{**KIND_SHAPES[kind], **PUBLISHED[kind], **overrides})
