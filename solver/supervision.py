"""One deep-supervision step on a carried batch: what training and ARC test-time fitting share.

A batch is carried from step to step (`Carry`: the recurrent state, the steps each puzzle has taken, which
have halted, and their data); a step resets the halted puzzles to the initial state with new data, runs
the H cycles with gradients through the last one only, and decides which puzzles halt. Training
(solver/train.py) steps the model's weights on its loss; test-time fitting (solver/test_time.py) steps only
the task's puzzle-embedding rows, with the network frozen.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch

from solver.model import TRM

# How often a training puzzle must run a random minimum of steps before it may halt (the reference's
# halt_exploration_prob), so that the halting head sees later steps too.
HALT_EXPLORATION_PROB = 0.1



@dataclass
class Carry:
    """The batch being refined: recurrent state, supervision steps taken, halted flags and its data."""

    z_H: torch.Tensor
    z_L: torch.Tensor
    steps: torch.Tensor
    halted: torch.Tensor
    inputs: torch.Tensor
    labels: torch.Tensor
    puzzle_identifiers: torch.Tensor

    @classmethod
    def empty(cls, model: TRM, batch: dict[str, torch.Tensor]) -> "Carry":
        """All halted, so the first step loads the whole batch and starts from H_init / L_init."""
        B, cfg = batch["inputs"].shape[0], model.config
        z = torch.zeros(B, cfg.total_len, cfg.hidden_size, device=model.device)
        return cls(z_H=z, z_L=z.clone(), steps=torch.zeros(B, dtype=torch.long, device=model.device),
                   halted=torch.ones(B, dtype=torch.bool, device=model.device),
                   **{k: torch.zeros_like(v, device=model.device) for k, v in batch.items()})

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name).cpu() for f in dataclasses.fields(self)}

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor], device: torch.device) -> "Carry":
        return cls(**{f.name: state[f.name].to(device) for f in dataclasses.fields(cls)})


# The inference model (solver/model.py) reuses activation memory in place, which autograd cannot follow.
@contextmanager
def trainable_puzzle_rows(model: TRM, puzzle_ids: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """(ids to pass to model.embed, leaf rows that receive the puzzle-embedding gradient or None).

    The table is a buffer (it can be far too big for a dense gradient), so for the duration of the forward
    the buffer is swapped for a [B, ndim] leaf holding just the batch's rows, looked up by position.
    """
    if not hasattr(model, "puzzle_emb"):
        yield puzzle_ids, None
        return
    table = model.puzzle_emb.weights
    rows = table[puzzle_ids.long()].float().requires_grad_(True)
    model.puzzle_emb.weights = rows
    try:
        yield torch.arange(puzzle_ids.shape[0], device=puzzle_ids.device), rows
    finally:
        model.puzzle_emb.weights = table


def supervision_step(model: TRM, carry: Carry, batch: dict[str, torch.Tensor], *, exploration_prob: float,
                     generator: torch.Generator | None
                     ) -> tuple[Carry, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One deep-supervision step on the carried batch: (new carry, logits, q_halt logits, puzzle rows).

    Gradients flow only through the last H cycle of this step (and the input embedding); the new carry is
    detached. With a generator, halting is trained as in the reference (halt on a positive logit, random
    minimum steps for exploration); without one every puzzle runs halt_max_steps steps, as at evaluation.
    """
    cfg = model.config
    reset = carry.halted
    z_H = torch.where(reset[:, None, None], model.H_init.to(carry.z_H.dtype), carry.z_H)
    z_L = torch.where(reset[:, None, None], model.L_init.to(carry.z_L.dtype), carry.z_L)
    steps = torch.where(reset, 0, carry.steps)
    data = {name: torch.where(reset.view(-1, *[1] * (batch[name].ndim - 1)), batch[name], getattr(carry, name))
            for name in ("inputs", "labels", "puzzle_identifiers")}

    with trainable_puzzle_rows(model, data["puzzle_identifiers"]) as (ids, rows):
        x = model.embed(data["inputs"], ids)
    with torch.no_grad():
        for _ in range(cfg.H_cycles - 1):
            z_H, z_L = model.cycle(z_H, z_L, x)
    z_H, z_L = model.cycle(z_H, z_L, x)  # the one cycle differentiated (out of place: see may_overwrite)
    logits, q_halt = model.readout(z_H)

    with torch.no_grad():
        steps = steps + 1
        halted = steps >= cfg.halt_max_steps
        if generator is not None and cfg.halt_max_steps > 1:
            halted |= q_halt > 0
            B = steps.shape[0]
            explore = torch.rand(B, generator=generator, device=generator.device) < exploration_prob
            min_steps = explore * torch.randint(2, cfg.halt_max_steps + 1, (B,), generator=generator,
                                                device=generator.device)
            halted &= steps >= min_steps.to(steps.device)
    new_carry = Carry(z_H=z_H.detach(), z_L=z_L.detach(), steps=steps, halted=halted, **data)
    return new_carry, logits, q_halt, rows
