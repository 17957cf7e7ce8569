"""A plain TRM, written the way the reference code is organised, as the baseline `solver/` is timed against.

Only for `bench/solver_speed.py --plain`. It follows the reference's evaluation loop step by step, with the
habits that loop has and `solver/` avoids: every supervision step embeds the input again and rebuilds the
carry (`torch.where` against the initial state for puzzles marked halted, as the ACT wrapper does); every
linear layer casts its weight to the input's dtype on every call; every activation is a fresh tensor (no
in-place updates); the whole batch runs at once (no splitting into chunks). The arithmetic is the same, so its
answers equal `solver/`'s up to float rounding; the bench checks that before it compares speed.

It loads a `solver.model.TRM`'s state dict unchanged (same tensor names).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from solver.config import TRMConfig
from solver.model import LEARNED_POS_SCALE, swiglu_width


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.square().mean(-1, keepdim=True) + eps)).to(x.dtype)


class CastedLinear(nn.Module):
    """A linear layer whose weight is cast to the input's dtype at every call."""

    def __init__(self, inputs: int, outputs: int, bias: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(outputs, inputs))
        self.bias = nn.Parameter(torch.empty(outputs)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, self.weight.to(x.dtype), bias)


class SwiGLU(nn.Module):
    def __init__(self, dim: int, expansion: float):
        super().__init__()
        inner = swiglu_width(dim, expansion)
        self.gate_up_proj = CastedLinear(dim, 2 * inner)
        self.down_proj = CastedLinear(inner, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.heads, self.head_dim = config.num_heads, config.hidden_size // config.num_heads
        self.qkv_proj = CastedLinear(config.hidden_size, 3 * config.hidden_size)
        self.o_proj = CastedLinear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor, cos_sin: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        B, S, D = x.shape
        qkv = self.qkv_proj(x).view(B, S, 3 * self.heads, self.head_dim)
        q, k, v = qkv[:, :, :self.heads], qkv[:, :, self.heads:2 * self.heads], qkv[:, :, 2 * self.heads:]
        if cos_sin is not None:
            cos, sin = cos_sin
            q32, k32 = q.float(), k.float()
            q = (q32 * cos[:, None] + rotate_half(q32) * sin[:, None]).to(q.dtype)
            k = (k32 * cos[:, None] + rotate_half(k32) * sin[:, None]).to(k.dtype)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.o_proj(y.transpose(1, 2).reshape(B, S, D))


class Block(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.eps, self.is_mlp_t = config.rms_norm_eps, config.mlp_t
        if config.mlp_t:
            self.mlp_t = SwiGLU(config.total_len, config.expansion)
        else:
            self.self_attn = Attention(config)
        self.mlp = SwiGLU(config.hidden_size, config.expansion)

    def forward(self, x: torch.Tensor, cos_sin) -> torch.Tensor:
        if self.is_mlp_t:
            xt = x.transpose(1, 2)
            x = rms_norm(xt + self.mlp_t(xt), self.eps).transpose(1, 2)
        else:
            x = rms_norm(x + self.self_attn(x, cos_sin), self.eps)
        return rms_norm(x + self.mlp(x), self.eps)


class ReasoningModule(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.layers = nn.ModuleList(Block(config) for _ in range(config.L_layers))

    def forward(self, z: torch.Tensor, injection: torch.Tensor, cos_sin) -> torch.Tensor:
        z = z + injection
        for layer in self.layers:
            z = layer(z, cos_sin)
        return z


class PlainTRM(nn.Module):
    def __init__(self, config: TRMConfig):
        super().__init__()
        self.config = config
        D = config.hidden_size
        self.embed_tokens = nn.Module()
        self.embed_tokens.embedding_weight = nn.Parameter(torch.empty(config.vocab_size, D))
        if config.pos_encodings == "learned":
            self.embed_pos = nn.Module()
            self.embed_pos.embedding_weight = nn.Parameter(torch.empty(config.total_len, D))
        if config.puzzle_emb_ndim > 0:
            self.puzzle_emb = nn.Module()
            self.puzzle_emb.register_buffer("weights", torch.zeros(config.num_puzzle_identifiers, config.puzzle_emb_ndim))
        self.L_level = ReasoningModule(config)
        self.lm_head = CastedLinear(D, config.vocab_size)
        self.q_head = CastedLinear(D, 2, bias=True)
        self.register_buffer("H_init", torch.zeros(D))
        self.register_buffer("L_init", torch.zeros(D))
        if config.pos_encodings == "rope":
            head_dim = D // config.num_heads
            inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
            angles = torch.outer(torch.arange(config.total_len, dtype=torch.float32), inv_freq)
            angles = torch.cat((angles, angles), dim=-1)
            self.cos_sin = (angles.cos(), angles.sin())
        else:
            self.cos_sin = None

    def input_embeddings(self, tokens: torch.Tensor, puzzle_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        cfg = self.config
        x = F.embedding(tokens.long(), self.embed_tokens.embedding_weight.to(dtype))
        if cfg.puzzle_emb_ndim > 0:
            p = self.puzzle_emb.weights[puzzle_ids.long()].to(dtype)
            p = F.pad(p, (0, cfg.prefix_len * cfg.hidden_size - cfg.puzzle_emb_ndim))
            x = torch.cat((p.view(-1, cfg.prefix_len, cfg.hidden_size), x), dim=1)
        if cfg.pos_encodings == "learned":
            x = LEARNED_POS_SCALE * (x + self.embed_pos.embedding_weight.to(dtype))
        return math.sqrt(cfg.hidden_size) * x

    def step(self, carry: dict, batch: dict, dtype: torch.dtype) -> tuple[dict, torch.Tensor, torch.Tensor]:
        """One supervision step as the reference's ACT wrapper runs it at evaluation."""
        cfg = self.config
        halted = carry["halted"]
        # Puzzles that halted start again from the initial state with the new batch's data.
        z_H = torch.where(halted.view(-1, 1, 1), self.H_init.to(dtype), carry["z_H"])
        z_L = torch.where(halted.view(-1, 1, 1), self.L_init.to(dtype), carry["z_L"])
        steps = torch.where(halted, 0, carry["steps"])
        data = {k: torch.where(halted.view((-1,) + (1,) * (v.ndim - 1)), batch[k], v) for k, v in carry["data"].items()}
        x = self.input_embeddings(data["inputs"], data["puzzle_identifiers"], dtype)
        with torch.no_grad():
            for _ in range(cfg.H_cycles - 1):
                for _ in range(cfg.L_cycles):
                    z_L = self.L_level(z_L, z_H + x, self.cos_sin)
                z_H = self.L_level(z_H, z_L, self.cos_sin)
        for _ in range(cfg.L_cycles):
            z_L = self.L_level(z_L, z_H + x, self.cos_sin)
        z_H = self.L_level(z_H, z_L, self.cos_sin)
        logits = self.lm_head(z_H)[:, cfg.prefix_len:]
        q = self.q_head(z_H[:, 0]).float()
        steps = steps + 1
        new_carry = {"z_H": z_H.detach(), "z_L": z_L.detach(), "steps": steps, "data": data,
                     "halted": steps >= cfg.halt_max_steps}
        return new_carry, logits, q[..., 0]

    def initial_carry(self, batch: dict, dtype: torch.dtype) -> dict:
        B, cfg = batch["inputs"].shape[0], self.config
        empty = torch.empty(B, cfg.total_len, cfg.hidden_size, dtype=dtype)
        return {"z_H": empty, "z_L": empty.clone(), "steps": torch.zeros(B, dtype=torch.int32),
                "halted": torch.ones(B, dtype=torch.bool), "data": {k: torch.empty_like(v) for k, v in batch.items()}}
