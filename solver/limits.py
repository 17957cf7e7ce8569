"""The bounds of test-time compute, as plain numbers: no torch here, so the web process can check a request
against them without loading a model.

- Depth: a checkpoint runs `halt_max_steps` supervision steps unless told otherwise; it may be told up to
  `max_steps(trained)`, four times its training or 64, whichever is more. The recurrent state keeps
  improving past training on the demos (bench/test_time.py) and the halting head stays meaningful, while a
  step past 4x has not paid in any measurement.
- Samples: trajectories per puzzle, each from Gaussian noise added to the latent (solver/thinking.py).
- Views: augmented views per puzzle, answers mapped back and voted (solver/views.py).
- Halting: a puzzle (or trajectory) stops at the first step whose halting probability passes the threshold.
- ARC fitting: the augmentations and embedding updates a drawn task may get on each device (`fit_budget`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MIN_STEPS_CAP = 64
STEPS_CAP_FACTOR = 4
MAX_SAMPLES = 16
MAX_VIEWS = {"sudoku": 16, "maze": 8}  # a maze has 8 dihedral views; ARC votes through its `augmentations`
DEFAULT_HALT_THRESHOLD = 0.5
# How a puzzle's answer is chosen among its trajectories (solver/thinking.py).
SELECTIONS = ("halt", "vote")
# Standard deviation of the noise added to the low-level latent before every H cycle of a sampled
# trajectory (the latent is RMS-normalised, so about 1 per element): bench/test_time.py measured 0.1-1.0
# on the Sudoku demo's hard band; see docs in solver/thinking.py for the figures behind this choice.
DEFAULT_NOISE_SCALE = 0.3
MAX_NOISE_SCALE = 4.0


class LimitError(ValueError):
    """A test-time option out of range; the message names the option (CLI flag / API field)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.reason = field, message


def max_steps(trained: int) -> int:
    """The most supervision steps a checkpoint trained with `trained` may be asked for."""
    return max(MIN_STEPS_CAP, STEPS_CAP_FACTOR * int(trained))


def check_test_time(kind: str, trained_steps: int, *, steps: int | None = None, samples: int = 1, views: int = 1,
                    halt: float | None = None, noise: float | None = None) -> None:
    """Raise LimitError naming the first option out of range for a `kind` checkpoint trained with trained_steps."""
    cap = max_steps(trained_steps)
    if steps is not None and not 1 <= steps <= cap:
        raise LimitError("steps", f"must be between 1 and {cap} (trained with {trained_steps}; up to "
                                  f"{STEPS_CAP_FACTOR}x that or {MIN_STEPS_CAP} at test time), got {steps}")
    if not 1 <= samples <= MAX_SAMPLES:
        raise LimitError("samples", f"must be between 1 and {MAX_SAMPLES}, got {samples}")
    most_views = MAX_VIEWS.get(kind)
    if most_views is None and views != 1:
        raise LimitError("views", f"{kind} puzzles have no views here (ARC votes over its fitting augmentations: "
                                  "use augmentations); leave it at 1")
    if most_views is not None and not 1 <= views <= most_views:
        raise LimitError("views", f"a {kind} puzzle has views 1 to {most_views}, got {views}")
    if halt is not None and not 0.0 < halt < 1.0:
        raise LimitError("halt", f"the halting threshold is a probability strictly between 0 and 1, got {halt}")
    if noise is not None and not 0.0 <= noise <= MAX_NOISE_SCALE:
        raise LimitError("noise", f"must be between 0 and {MAX_NOISE_SCALE}, got {noise}")


# --------------------------------------------------------------------------------- ARC fitting budgets
# How much test-time fitting an ARC job may ask for (solver/test_time.py does the fitting).

# The reference's puzzle-embedding sign-SGD rate for ARC.
DEFAULT_LR = 1e-2


class BudgetError(ValueError):
    """A fitting budget outside the limits of the device; the message names the option and the range."""


@dataclass(frozen=True)
class Budget:
    augmentations: int  # views of the task: the identity plus augmentations drawn as the builder draws them
    fit_steps: int  # sign-SGD updates of the puzzle-embedding rows (0: no fitting, zero rows)
    batch_size: int  # examples in the carried batch
    lr: float = DEFAULT_LR  # sign-SGD rate of the rows
    # Learned rows of the checkpoint tried as the fit's starting point: the best of them on the demonstration
    # pairs starts every augmentation's row (0: start from zero rows, as training starts them). See
    # solver/test_time.py, warm_start_rows.
    warm_start: int = 0


# A CPU runs few augmentations and a short fit: the published 7M model takes ~1.7 s per example and
# supervision step there. So short a fit moves the rows too little at the reference's rate (1e-2: a row
# entry moves at most lr per update), hence a larger one. A GPU runs the reference's scale and rate.
BUDGETS = {"cpu": Budget(augmentations=8, fit_steps=16, batch_size=4, lr=5e-2, warm_start=16),
           "cuda": Budget(augmentations=1000, fit_steps=1000, batch_size=512, lr=DEFAULT_LR, warm_start=256)}
LIMITS = {"cpu": Budget(augmentations=64, fit_steps=500, batch_size=8),
          "cuda": Budget(augmentations=1000, fit_steps=5000, batch_size=512)}


def _device_key(device: str) -> str:
    return "cuda" if device in ("gpu", "cuda") or device.startswith("cuda:") else "cpu"


def fit_limits(device: str) -> Budget:
    """The most augmentations and fitting updates a job may ask for on `device` ("cpu" or "cuda"/"gpu")."""
    return LIMITS[_device_key(device)]


def fit_budget(device: str, *, augmentations: int | None = None, fit_steps: int | None = None) -> Budget:
    """The budget on `device` ("cpu" or "cuda"/"gpu"), with the values a job asks for checked against its limits."""
    device = _device_key(device)
    default, limit = BUDGETS[device], LIMITS[device]
    problems = []
    if augmentations is not None and not 1 <= augmentations <= limit.augmentations:
        problems.append(f"augmentations must be between 1 and {limit.augmentations} on the {device} device, "
                        f"got {augmentations}")
    if fit_steps is not None and not 0 <= fit_steps <= limit.fit_steps:
        problems.append(f"fit_steps must be between 0 and {limit.fit_steps} on the {device} device, got {fit_steps}")
    if problems:
        raise BudgetError("; ".join(problems))
    return dataclasses.replace(default, **{k: v for k, v in (("augmentations", augmentations),
                                                             ("fit_steps", fit_steps)) if v is not None})
