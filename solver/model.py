"""The Tiny Recursive Model (Jolicoeur-Martineau 2025, arXiv 2510.04871): the network and its forward pass.

One small network `net` (L_layers post-norm blocks) is applied over and over. A supervision step refines
a latent z_L several times from the question x and the current answer z_H, then refines the answer:

    repeat H_cycles:
        repeat L_cycles:  z_L = net(z_L + (z_H + x))
        z_H = net(z_H + z_L)
    logits = lm_head(z_H)[prefix:]      q_halt = q_head(z_H[:, 0])[0]

The model starts from the fixed vectors H_init / L_init and, at evaluation, runs `halt_max_steps` steps,
carrying (z_H, z_L) from one step to the next. Tensor names and the arithmetic (where fp32 is used, the
order of additions, the RoPE layout) follow the reference implementation so its checkpoints load
unchanged and give the same answers. Training uses this same network but lives elsewhere: the trainer,
with deep supervision and halting exploration, in solver/train.py, the losses in solver/losses.py, the
sparse-embedding optimiser in solver/optim.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from solver.config import TRMConfig

# Learned positions are added to the token embeddings and rescaled by this constant (≈ 1/sqrt 2) so the sum
# keeps unit variance; the literal matches the reference so fp results agree bit for bit.
LEARNED_POS_SCALE = 0.707106781


def may_overwrite() -> bool:
    """Whether activations may be updated in place: only while autograd records nothing.

    At batch 32 an activation is tens of MB, and every fresh allocation that size costs page faults on a
    CPU, so inference reuses them; under autograd an in-place update would destroy a tensor the backward
    pass needs, so training's differentiated cycle computes the same arithmetic out of place.
    """
    return not torch.is_grad_enabled()


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Weightless RMSNorm over the last axis, computed in fp32 whatever the model dtype (bf16 would drift).

    Without autograd it overwrites `x` in fp32 (callers pass a temporary), see may_overwrite.
    """
    x32 = x.float()
    if may_overwrite():
        scale = torch.rsqrt(x32.square().mean(-1, keepdim=True).add_(eps))
        return x32.mul_(scale).to(x.dtype)
    return (x32 * torch.rsqrt(x32.square().mean(-1, keepdim=True) + eps)).to(x.dtype)


def swiglu_width(dim: int, expansion: float) -> int:
    """Inner width of a SwiGLU: 2/3 of `expansion * dim` (same parameters as a plain MLP), rounded up to 256."""
    return -(round(expansion * dim * 2 / 3) // -256) * 256


class SwiGLU(nn.Module):
    def __init__(self, dim: int, expansion: float):
        super().__init__()
        inner = swiglu_width(dim, expansion)
        self.gate_up_proj = nn.Linear(dim, 2 * inner, bias=False)
        self.down_proj = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        if may_overwrite():  # same values as below, without two more activation-sized allocations
            return self.down_proj(F.silu(gate, inplace=True).mul_(up))
        return self.down_proj(F.silu(gate) * up)


class Rotary(nn.Module):
    """RoPE tables in the 'rotate half' layout, always kept in fp32.

    They are plain attributes rather than buffers: checkpoints never hold them, and `model.to(bfloat16)`
    must not round them (the reference rotates q and k in fp32).
    """

    def __init__(self, head_dim: int, positions: int, theta: float):
        super().__init__()
        # Explicitly on the CPU: models are also built on the meta device, where these must still be real.
        cpu = torch.device("cpu")
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=cpu) / head_dim))
        angles = torch.outer(torch.arange(positions, dtype=torch.float32, device=cpu), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)  # [positions, head_dim]
        self._tables = {torch.device("cpu"): (angles.cos(), angles.sin())}

    def tables(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._tables:
            cos, sin = self._tables[torch.device("cpu")]
            self._tables[device] = (cos.to(device), sin.to(device))
        return self._tables[device]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate x [B, S, heads, head_dim] by its position."""
        cos, sin = self.tables(x.device)
        x32 = x.float()
        half = x32.shape[-1] // 2
        rotated = torch.cat((-x32[..., half:], x32[..., :half]), dim=-1)
        return (x32 * cos[:, None] + rotated * sin[:, None]).to(x.dtype)


class SelfAttention(nn.Module):
    """Non-causal multi-head attention; RoPE on q and k when the config asks for it."""

    def __init__(self, config: TRMConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.head_dim = config.hidden_size // config.num_heads
        self.qkv_proj = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.rotary = (Rotary(self.head_dim, config.total_len, config.rope_theta)
                       if config.pos_encodings == "rope" else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, S, D = x.shape
        q, k, v = self.qkv_proj(x).view(B, S, 3 * self.num_heads, self.head_dim).split(self.num_heads, dim=2)
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.o_proj(y.transpose(1, 2).reshape(B, S, D))


class Block(nn.Module):
    """Post-norm block: a sequence mixer (attention, or an MLP across positions) then a SwiGLU MLP."""

    def __init__(self, config: TRMConfig):
        super().__init__()
        self.eps = config.rms_norm_eps
        if config.mlp_t:
            # Mixes positions: works on x transposed to [B, D, S], so its width is the sequence length.
            self.mlp_t = SwiGLU(config.total_len, config.expansion)
        else:
            self.self_attn = SelfAttention(config)
        self.mlp = SwiGLU(config.hidden_size, config.expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "mlp_t"):
            xt = x.transpose(1, 2)
            # Out of place on purpose: `xt + ...` keeps x's memory layout, so the norm (over the sequence
            # axis) sums in the same order as the reference and gives bit-identical results.
            x = rms_norm(xt + self.mlp_t(xt), self.eps).transpose(1, 2)
        else:
            x = rms_norm(_residual(self.self_attn(x), x), self.eps)
        return rms_norm(_residual(self.mlp(x), x), self.eps)


def _residual(update: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """update + x, in `update`'s memory when nothing needs it any more (see may_overwrite)."""
    return update.add_(x) if may_overwrite() else update + x


class ReasoningNet(nn.Module):
    """The single network TRM reuses for both z_L and z_H updates: add the injection, run the blocks."""

    def __init__(self, config: TRMConfig):
        super().__init__()
        self.layers = nn.ModuleList(Block(config) for _ in range(config.L_layers))

    def forward(self, z: torch.Tensor, injection: torch.Tensor) -> torch.Tensor:
        z = z + injection
        for layer in self.layers:
            z = layer(z)
        return z


class Embedding(nn.Module):
    """A lookup table whose parameter is named `embedding_weight`, as in the reference checkpoints."""

    def __init__(self, rows: int, dim: int):
        super().__init__()
        self.embedding_weight = nn.Parameter(torch.empty(rows, dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.embedding_weight)


class PuzzleEmbedding(nn.Module):
    """One vector per puzzle identifier (per ARC task and augmentation), stored as the buffer `weights`.

    The table can be ~1.8 GB, so it may stay in its stored dtype (even memory-mapped); only the looked-up
    rows are cast to the compute dtype.
    """

    weights: torch.Tensor  # a buffer (registered below), so that it is saved but never trained by Adam

    def __init__(self, rows: int, dim: int):
        super().__init__()
        self.register_buffer("weights", torch.zeros(rows, dim))

    def forward(self, ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return self.weights[ids].to(dtype)


class TRM(nn.Module):
    """TRM with its input embedding, the shared reasoning net, and the answer and halting heads.

    It has no forward(): its parts (`embed`, `cycle`, `readout`) are driven by the step loops, without
    gradients in solver/inference.py and with them through the last cycle in solver/supervision.py.
    """

    H_init: torch.Tensor  # buffers, registered in __init__
    L_init: torch.Tensor

    def __init__(self, config: TRMConfig):
        super().__init__()
        self.config = config
        D = config.hidden_size
        self.embed_scale = math.sqrt(D)
        self.embed_tokens = Embedding(config.vocab_size, D)
        if config.pos_encodings == "learned":
            self.embed_pos = Embedding(config.total_len, D)
        if config.puzzle_emb_ndim > 0:
            self.puzzle_emb = PuzzleEmbedding(config.num_puzzle_identifiers, config.puzzle_emb_ndim)
        self.L_level = ReasoningNet(config)
        self.lm_head = nn.Linear(D, config.vocab_size, bias=False)
        self.q_head = nn.Linear(D, 2, bias=True)  # [halt, continue] logits; only halt is used at evaluation
        self.register_buffer("H_init", torch.zeros(D))
        self.register_buffer("L_init", torch.zeros(D))

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    def embed(self, inputs: torch.Tensor, puzzle_ids: torch.Tensor) -> torch.Tensor:
        """x: sqrt(D) * [puzzle embedding as prefix positions ; token embeddings] (+ learned positions)."""
        cfg = self.config
        x = self.embed_tokens(inputs.long())
        if cfg.puzzle_emb_ndim > 0:
            p = self.puzzle_emb(puzzle_ids.long(), x.dtype)
            p = F.pad(p, (0, cfg.prefix_len * cfg.hidden_size - cfg.puzzle_emb_ndim))
            x = torch.cat((p.view(-1, cfg.prefix_len, cfg.hidden_size), x), dim=1)
        if cfg.pos_encodings == "learned":
            x = LEARNED_POS_SCALE * (x + self.embed_pos.embedding_weight)
        return self.embed_scale * x

    def initial_state(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_H, z_L) before the first supervision step: H_init and L_init at every position."""
        shape = (batch_size, self.config.total_len, self.config.hidden_size)
        return self.H_init.to(self.dtype).expand(shape), self.L_init.to(self.dtype).expand(shape)

    def cycle(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One H cycle: L_cycles latent updates from (answer + question), then one answer update."""
        injection = z_H + x  # constant during the L cycles
        for _ in range(self.config.L_cycles):
            z_L = self.L_level(z_L, injection)
        return self.L_level(z_H, z_L), z_L

    def readout(self, z_H: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Answer logits [B, seq_len, vocab] (prefix dropped) and the fp32 halting logit [B]."""
        logits = self.lm_head(z_H[:, self.config.prefix_len:])
        q_halt = self.q_head(z_H[:, 0]).float()[:, 0]
        return logits, q_halt

    def num_parameters(self, include_puzzle_emb: bool = False) -> int:
        """Trained parameters; the puzzle table (a buffer, sometimes huge) counts only when asked."""
        n = sum(p.numel() for p in self.parameters())
        if include_puzzle_emb and hasattr(self, "puzzle_emb"):
            n += self.puzzle_emb.weights.numel()
        return n


def trunc_normal_(t: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Normal init truncated at ±2 std, rescaled so the *resulting* std is `std` (the JAX/Flax convention;
    torch's own trunc_normal_ gives a smaller spread than its `std` argument)."""
    if std == 0:
        return t.zero_()
    # Standard deviation of a standard normal truncated to [-2, 2].
    pdf2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    cut_std = math.sqrt(1 - 4 * pdf2 / mass)
    scale = std / cut_std
    return nn.init.trunc_normal_(t, std=scale, a=-2 * scale, b=2 * scale, generator=generator)


@torch.no_grad()
def init_weights(model: TRM, generator: torch.Generator | None = None) -> TRM:
    """Random initialisation as at the start of the paper's training: LeCun-normal linears, 1/sqrt(D)
    embeddings, unit-std H_init/L_init, zero puzzle embeddings, halting head biased to "continue".

    Used for untrained checkpoints (tests, benchmarks); a trained model overwrites all of it.
    """
    D = model.config.hidden_size
    for module in model.modules():
        if isinstance(module, nn.Linear):
            trunc_normal_(module.weight, module.in_features ** -0.5, generator)
    trunc_normal_(model.embed_tokens.embedding_weight, D ** -0.5, generator)
    if hasattr(model, "embed_pos"):
        trunc_normal_(model.embed_pos.embedding_weight, D ** -0.5, generator)
    if hasattr(model, "puzzle_emb"):
        model.puzzle_emb.weights.zero_()
    trunc_normal_(model.H_init, 1.0, generator)
    trunc_normal_(model.L_init, 1.0, generator)
    model.q_head.weight.zero_()
    model.q_head.bias.fill_(-5.0)
    return model
