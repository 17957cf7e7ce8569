"""Training TRM with deep supervision and the halting head, as the reference `pretrain.py` does.

    python -m solver train --config CONFIG.yaml [KEY=VALUE ...] [--resume] [--device cpu|cuda] [--threads N]
    torchrun --nproc-per-node 4 -m solver train --config CONFIG.yaml       (several GPUs: see below)

KEY=VALUE overrides a config entry, e.g. `max_steps=200 arch.hidden_size=64` (values are read as YAML;
give them together). A config uses the reference's names (its all_config.yaml is accepted as one):

    data_paths: [data/sudoku]          # a directory written by `python -m solver build-dataset`
    checkpoint_path: runs/sudoku
    arch: {hidden_size: 512, H_cycles: 3, L_cycles: 6, mlp_t: true, pos_encodings: none, forward_dtype: bfloat16}
    global_batch_size: 768
    epochs: 50000                      # or max_steps: N
    lr: 1.0e-4
    lr_warmup_steps: 2000
    weight_decay: 1.0
    puzzle_emb_lr: 1.0e-4
    puzzle_emb_weight_decay: 1.0
    ema: true
    load_checkpoint: runs/first/model.safetensors   # optional: start from these weights, not random ones

A batch of puzzles is carried from one update to the next. Each update runs one supervision step on every
puzzle of the carried batch: H_cycles - 1 cycles without gradient, then one with it, then the answer and
halting heads. The loss is the stablemax cross-entropy of the answer plus half the binary cross-entropy of
the halting logit against "the answer is fully right". A puzzle halts when its halting logit turns
positive or after halt_max_steps steps (with probability halt_exploration_prob it must first run a random
2..halt_max_steps steps); a halted puzzle's place in the carried batch is taken by the puzzle at the same
place in the next batch of data, the others keep refining their answer.

Optimisers: AdamAtan2 (decoupled weight decay) for the network, sign-SGD for the puzzle-embedding rows a
batch used; both follow the same schedule (linear warm-up to their base rate, then cosine to lr_min_ratio).
An exponential moving average of the weights is what the checkpoint holds (`ema: true`).

Files written to `checkpoint_path`: `model.safetensors` (project format, EMA weights, provenance with the
data, steps, config and train metrics), `config.yaml` (the resolved config), `metrics.jsonl` (one JSON
line per logged window: step, losses, accuracies, halting, learning rate, training seconds; and one per
held-out evaluation, `held_out`; `python -m solver plot-metrics` draws them; the same as TensorBoard events
in `tensorboard/` where that package is installed) and `resume.pt` (weights, optimiser and EMA state,
carried batch, random state and data position; read back with `torch.load(weights_only=True)`).
`--resume` continues from `resume.pt` exactly where it stopped: on a CPU the losses that follow are the
same as in an uninterrupted run. Ctrl-C or SIGTERM stops the run after the update in progress and saves it.

Several GPUs (torchrun): each process takes its slice of every global batch, gradients are summed with
all_reduce and the puzzle-embedding gradients all-gathered, as in the reference. This path is UNTESTED here
(no GPUs on the development machines); on resume, processes other than the first start a fresh carry.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.distributed as dist

from solver.checkpoint import write_project
from solver.config import TRMConfig
from solver.data import BatchPosition, PuzzleSplit, batches_per_epoch, load_split, train_batches
from solver.devices import DeviceError, device_named
from solver.losses import LOSS_FUNCTIONS, Q_HALT_LOSS_WEIGHT, act_loss
from solver.metrics_plot import METRICS_FILE
from solver.model import TRM, init_weights
from solver.optim import EMA, AdamAtan2, lr_at, sparse_sign_sgd_
from solver.supervision import HALT_EXPLORATION_PROB, Carry, supervision_step
from solver.tensorboard_log import TensorBoardLog

RESUME_FORMAT = "trm-playground-train-state/1"
MODEL_FILE, RESUME_FILE, CONFIG_FILE = "model.safetensors", "resume.pt", "config.yaml"

# The reference's arch defaults (config/arch/trm.yaml); puzzle_emb_ndim defaults to hidden_size.
ARCH_DEFAULTS: dict[str, Any] = {
    "hidden_size": 512, "num_heads": 8, "expansion": 4.0, "L_layers": 2, "H_cycles": 3, "L_cycles": 6,
    "halt_max_steps": 16, "halt_exploration_prob": HALT_EXPLORATION_PROB, "pos_encodings": "rope", "mlp_t": False,
    "puzzle_emb_len": 16, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "forward_dtype": "bfloat16",
    "loss": {"loss_type": "stablemax_cross_entropy"},
}
# Reference keys accepted so that its all_config.yaml can be used as a config, but without effect here
# (its eval_interval counts epochs; eval_every here counts updates).
ARCH_IGNORED = {"name", "H_layers", "no_ACT_continue"}
REFERENCE_IGNORED = {"data_paths_test", "evaluators", "project_name", "run_name", "checkpoint_every_eval",
                     "eval_interval", "min_eval_interval", "eval_save_outputs"}


class TrainConfigError(ValueError):
    """A training config that cannot be used; the message names the key and what is allowed."""


@dataclass
class TrainConfig:
    data_paths: list[str]  # dataset directory (the reference's list form; one path)
    checkpoint_path: str  # run directory: model.safetensors, config.yaml, resume.pt
    arch: dict[str, Any] = field(default_factory=dict)  # model shape + halting (reference names), see ARCH_DEFAULTS
    global_batch_size: int = 768  # puzzles per update, over all processes
    epochs: int = 100000  # length of the run: epochs * groups * examples per puzzle / batch updates
    max_steps: int | None = None  # if set, the run's length in updates instead (and the schedule's end)
    lr: float = 1e-4  # AdamAtan2 base learning rate
    lr_min_ratio: float = 1.0  # final lr / base lr of the cosine decay (1.0 = constant after warm-up)
    lr_warmup_steps: int = 2000  # linear warm-up from 0
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 0.1  # decoupled, per update: p *= 1 - lr * weight_decay
    puzzle_emb_lr: float = 1e-2  # sign-SGD rate of the puzzle embeddings
    puzzle_emb_weight_decay: float = 0.1
    ema: bool = True  # save an exponential moving average of the weights (the reference's ema=True runs)
    ema_rate: float = 0.999
    seed: int = 0  # model initialisation, data order and halting exploration
    checkpoint_every: int = 1000  # updates between saves (0: only at the end and on Ctrl-C)
    log_every: int = 50  # updates between log lines
    eval_every: int | None = None  # updates between held-out evaluations of the EMA weights (None: never)
    eval_limit: int | None = 1000  # held-out puzzles per evaluation (None: the whole test split)
    eval_at_end: bool = True  # evaluate the final checkpoint and record the figures in its provenance
    load_checkpoint: str | None = None  # start from these weights (either format, same shape) instead of random ones

    @property
    def data_path(self) -> Path:
        return Path(self.data_paths[0])

    def arch_values(self) -> dict[str, Any]:
        values = {**ARCH_DEFAULTS, **self.arch}
        values["loss"] = {**ARCH_DEFAULTS["loss"], **(self.arch.get("loss") or {})}
        values.setdefault("puzzle_emb_ndim", values["hidden_size"])
        return values

    def model_config(self, split: PuzzleSplit) -> TRMConfig:
        """The TRMConfig for this dataset: kind, sequence length, vocabulary and identifiers from the data."""
        arch = self.arch_values()
        kind = split.metadata.kind
        fields = {f.name for f in dataclasses.fields(TRMConfig)}
        shape = {k: arch[k] for k in arch if k in fields and k not in ("kind", "seq_len", "vocab_size")}
        shape["num_puzzle_identifiers"] = split.metadata.num_puzzle_identifiers
        shape["loss_type"] = arch["loss"]["loss_type"]
        if shape["puzzle_emb_ndim"] == 0:
            shape["puzzle_emb_len"] = 0
        try:
            return TRMConfig(kind=kind, seq_len=split.metadata.seq_len, vocab_size=split.metadata.vocab_size, **shape)
        except (TypeError, ValueError) as e:
            raise TrainConfigError(f"arch: {e}") from None


def _coerce(config: TrainConfig, problems: list[str]) -> None:
    """Numbers as their field's type: YAML 1.1 reads `1e-4` (no dot) as a string."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        kind = {"float": float, "int": int, "int | None": int, "bool": bool}.get(str(f.type))
        if kind is None or value is None:
            continue
        try:
            if kind is bool and not isinstance(value, bool):
                raise ValueError
            setattr(config, f.name, kind(float(value)) if kind is int else kind(value))
        except (TypeError, ValueError):
            problems.append(f"{f.name} must be {'true or false' if kind is bool else f'a number ({kind.__name__})'}, "
                            f"got {value!r}")
    for name in ("expansion", "halt_exploration_prob", "rope_theta", "rms_norm_eps"):
        if isinstance(config.arch.get(name), str):
            try:
                config.arch[name] = float(config.arch[name])
            except ValueError:
                problems.append(f"arch.{name} must be a number, got {config.arch[name]!r}")


def _check(config: TrainConfig) -> TrainConfig:
    problems: list[str] = []
    _coerce(config, problems)
    if isinstance(config.data_paths, str):
        config.data_paths = [config.data_paths]
    if len(config.data_paths) != 1:
        problems.append(f"data_paths must name exactly one dataset directory, got {config.data_paths!r}")
    arch = config.arch_values()
    known = set(ARCH_DEFAULTS) | {"puzzle_emb_ndim"} | ARCH_IGNORED
    unknown = sorted(set(config.arch) - known)
    if unknown:
        problems.append(f"arch.{unknown[0]} is not a known setting; known: {', '.join(sorted(known))}")
    if config.arch.get("no_ACT_continue", True) is not True:
        problems.append("arch.no_ACT_continue must be true (the Q-continue loss is not implemented; the "
                        "published runs do not use it)")
    if arch["loss"]["loss_type"] not in LOSS_FUNCTIONS:
        problems.append(f"arch.loss.loss_type {arch['loss']['loss_type']!r} is not one of {', '.join(LOSS_FUNCTIONS)}")
    if not 0.0 <= float(arch["halt_exploration_prob"]) <= 1.0:
        problems.append("arch.halt_exploration_prob must be between 0 and 1")
    for name in ("global_batch_size", "epochs"):
        if int(getattr(config, name)) < 1:
            problems.append(f"{name} must be at least 1")
    if config.max_steps is not None and config.max_steps < 1:
        problems.append("max_steps must be at least 1 (or null)")
    for name in ("checkpoint_every", "log_every", "lr_warmup_steps"):
        if int(getattr(config, name)) < 0:
            problems.append(f"{name} cannot be negative")
    if not 0.0 <= config.ema_rate < 1.0:
        problems.append("ema_rate must be in [0, 1)")
    if problems:
        raise TrainConfigError("invalid training config: " + "; ".join(problems))
    return config


def _set_dotted(target: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise TrainConfigError(f"override {key}: {part} is not a section")
    target[leaf] = value


def load_train_config(path: str | os.PathLike | None, overrides: Sequence[str] = (), **values: Any) -> TrainConfig:
    """A TrainConfig from a YAML file (reference key names), KEY=VALUE overrides and keyword values."""
    import yaml

    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise TrainConfigError(f"cannot read config {path}: {e}") from None
        if not isinstance(raw, dict):
            raise TrainConfigError(f"config {path} must be a YAML mapping of settings")
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise TrainConfigError(f"override {item!r} must look like KEY=VALUE, e.g. max_steps=100")
        _set_dotted(raw, key.strip(), yaml.safe_load(text))
    raw.update({k: v for k, v in values.items() if v is not None})
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - names - REFERENCE_IGNORED)
    if unknown:
        raise TrainConfigError(f"{unknown[0]!r} is not a training setting; known: {', '.join(sorted(names))}")
    missing = [n for n in ("data_paths", "checkpoint_path") if raw.get(n) is None]
    if missing:
        raise TrainConfigError(f"the config must set {' and '.join(missing)}")
    return _check(TrainConfig(**{k: v for k, v in raw.items() if k in names}))


# ------------------------------------------------------------------------------------------ training


@dataclass
class Process:
    """Where this process runs: device, rank and number of processes (1 without torchrun)."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def start_process(device: str = "auto") -> Process:
    """The device to train on; joins the torchrun process group when started by torchrun (UNTESTED)."""
    if "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        local_rank = int(os.environ["LOCAL_RANK"])
        use_cuda = torch.cuda.is_available() and device != "cpu"
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        if use_cuda:
            torch.cuda.set_device(local_rank)
        return Process(device=torch.device(f"cuda:{local_rank}" if use_cuda else "cpu"),
                       rank=dist.get_rank(), world_size=dist.get_world_size())
    try:
        return Process(device=device_named(device))
    except DeviceError as error:
        raise TrainConfigError(f"device {error}") from None


@dataclass
class TrainResult:
    checkpoint: Path  # model.safetensors
    step: int  # updates done
    losses: list[float]  # loss of every update this call ran (per puzzle, as logged)
    metrics: dict[str, float]  # last logged window
    evaluation: dict[str, Any] | None = None


class MetricWindow:
    """Sums of the per-step metrics between two log lines, turned into the reference's averages."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.updates = 0

    def add(self, metrics: dict[str, torch.Tensor]) -> None:
        for k, v in metrics.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.updates += 1

    def averages(self, global_batch_size: int) -> dict[str, float]:
        count = max(self.sums.get("count", 0.0), 1.0)
        out = {}
        for k, v in self.sums.items():
            if k == "count":
                continue
            out[k] = v / (global_batch_size * max(self.updates, 1)) if k.endswith("loss") else v / count
        out["halted"] = self.sums.get("count", 0.0)
        return out


def _format_seconds(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def starting_weights(path: str, model_config: TRMConfig) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The weights of checkpoint `path` as float32 tensors for a model of `model_config`, and a summary of
    how they were made (for the new checkpoint's provenance, so its whole history stays readable); a checkpoint of
    another shape, kind or dataset vocabulary is refused with the first difference. Only the weights are
    taken: the optimiser, its schedule and the EMA start afresh, as the reference's `load_checkpoint` does."""
    from solver.checkpoint import CheckpointError, check_tensors, read_checkpoint

    try:
        tensors, stored, earlier = read_checkpoint(path, kind=model_config.kind)
        check_tensors(tensors, model_config, f"load_checkpoint {path}")
    except (CheckpointError, OSError) as e:
        raise TrainConfigError(f"load_checkpoint: {e}") from None
    for name in ("mlp_t", "pos_encodings"):  # same tensor shapes, different meaning
        if getattr(stored, name) != getattr(model_config, name):
            raise TrainConfigError(f"load_checkpoint: {path} has {name}={getattr(stored, name)!r}, this run "
                                   f"{getattr(model_config, name)!r}")
    history = {"checkpoint": str(path), "training_step": earlier.get("training_step"),
               "train_seconds": earlier.get("train_seconds"), "started_from": earlier.get("started_from")}
    return {name: t.float() for name, t in tensors.items()}, history


class MetricsLog:
    """checkpoint_path/metrics.jsonl: what the log lines say, as data, one JSON object a line.

    A run that resumes first drops the lines past the update it resumes at (written after its last save, by
    a session that was then stopped), so that the file has each update once.
    """

    def __init__(self, path: Path):
        self.path = path
        self.board = TensorBoardLog(path.parent)

    def truncate_after(self, step: int) -> None:
        self.board.purge_step = step
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        self.path.write_text("".join(line + "\n" for line in kept))

    def curve(self, points: int = 200) -> list[dict[str, float]]:
        """The logged windows' step, loss and accuracies, thinned to at most `points` (the last kept): what a
        checkpoint carries of its training curve, so that the admin can draw it without the run's folder."""
        if not self.path.exists():
            return []
        windows = [record for record in map(json.loads, filter(str.strip, self.path.read_text().splitlines()))
                   if "held_out" not in record]
        stride = max(1, -(-len(windows) // points))
        kept = windows[::stride] + ([windows[-1]] if windows and (len(windows) - 1) % stride else [])
        return [{key: record[key] for key in ("step", "loss", "accuracy", "exact_accuracy") if key in record}
                for record in kept]

    def write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as file:
            file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.board.write(record)


class Trainer:
    """One training run: model, optimisers, EMA, carried batch, data stream and bookkeeping."""

    def __init__(self, config: TrainConfig, *, process: Process | None = None,
                 log: Callable[[str], None] | None = None, resuming: bool = False):
        self.config = config
        self.process = process or start_process("auto")
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.split = load_split(config.data_path, "train")
        self.model_config = config.model_config(self.split)
        device = self.process.device
        self.model = init_weights(TRM(self.model_config), torch.Generator().manual_seed(config.seed)).to(device)
        self.started_from: dict[str, Any] | None = None  # what load_checkpoint's file says of its own training
        # Not when resuming: resume.pt holds the weights, and the file may since have been replaced (by
        # demo-train --install, for one), which would give the run another checkpoint's history.
        if config.load_checkpoint and not resuming:
            weights, self.started_from = starting_weights(config.load_checkpoint, self.model_config)
            self.model.load_state_dict(weights)
        self.model.train()
        self.adam = AdamAtan2(self.model.parameters(), lr=0.0, betas=(config.beta1, config.beta2),
                              weight_decay=config.weight_decay)
        self.ema = EMA(self.model, config.ema_rate) if config.ema else None
        self.exploration = torch.Generator(device=device).manual_seed(config.seed + self.process.rank)
        self.step = 0
        self.position = BatchPosition()
        self.carry: Carry | None = None
        self.seconds = 0.0  # training time of earlier sessions of this run
        per_epoch = batches_per_epoch(self.split, config.global_batch_size)
        self.total_steps = config.max_steps or max(1, int(config.epochs * per_epoch))
        self.autocast_dtype = getattr(torch, self.model_config.forward_dtype)
        self.last_metrics: dict[str, float] = {}
        self.evaluation: dict[str, Any] | None = None
        self.stop_requested = False
        self.losses: list[float] = []  # loss of every update of this session
        self.metrics_log = MetricsLog(self.directory / METRICS_FILE)
        self._clock = time.perf_counter()  # training time since self.seconds was last brought up to date
        self._between_updates = True  # whether the state in memory is consistent (safe to save)

    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """Ctrl-C or SIGTERM (how schedulers stop jobs) ask the run to stop after the current update, which
        then saves; a second signal stops at once. Only the main thread can receive signals."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum: int, frame: Any) -> None:
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True
            self.log("stopping after this update (press Ctrl-C again to stop at once, without saving)")

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # ---------------------------------------------------------------------------------------- files

    @property
    def directory(self) -> Path:
        return Path(self.config.checkpoint_path)

    def weights_to_save(self) -> dict[str, torch.Tensor]:
        return self.ema.averaged_state_dict(self.model) if self.ema else dict(self.model.state_dict())

    def provenance(self) -> dict[str, Any]:
        provenance = {
            "made_by": "python -m solver train",
            "trained": True,
            "training_step": self.step,
            "total_steps": self.total_steps,
            "data_paths": [str(p) for p in self.config.data_paths],
            "train_config": dataclasses.asdict(self.config),
            "train_metrics": self.last_metrics,
            "weights": f"EMA (rate {self.config.ema_rate})" if self.ema else "last update",
            "train_seconds": round(self.seconds, 1),
            "device": str(self.process.device),
            "processes": self.process.world_size,
        }
        if self.evaluation is not None:
            provenance["evaluation"] = self.evaluation
        if self.started_from is not None:
            provenance["started_from"] = self.started_from
        curve = self.metrics_log.curve() if self.process.is_main else []
        if curve:
            provenance["training_curve"] = curve
        identifiers = self.config.data_path / "identifiers.json"
        if identifiers.is_file():  # ARC: the task (and augmentation) each puzzle-embedding row was trained for
            provenance["puzzle_identifiers"] = json.loads(identifiers.read_text())
        return provenance

    def save(self) -> Path:
        """model.safetensors, config.yaml and resume.pt, each replaced atomically (first process only)."""
        path = self.directory / MODEL_FILE
        if not self.process.is_main:
            return path
        import yaml

        self.directory.mkdir(parents=True, exist_ok=True)
        write_project(self.weights_to_save(), self.model_config, self.provenance(), path)
        (self.directory / CONFIG_FILE).write_text(yaml.safe_dump(dataclasses.asdict(self.config), sort_keys=False))
        state = {
            "format": RESUME_FORMAT,
            "step": self.step,
            "position": [self.position.round, self.position.set_index, self.position.batch],
            "seconds": self.seconds,
            "config": dataclasses.asdict(self.config),
            "model_config": self.model_config.to_dict(),
            "model": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "adam": self.adam.state_dict(),
            "ema": {k: v.cpu() for k, v in self.ema.state_dict().items()} if self.ema else {},
            "carry": self.carry.state_dict() if self.carry is not None else {},
            "exploration_rng": self.exploration.get_state(),
            "train_metrics": self.last_metrics,
            "started_from": self.started_from,
        }
        tmp = self.directory / (RESUME_FILE + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.directory / RESUME_FILE)
        return path

    def resume(self) -> None:
        """Continue from checkpoint_path/resume.pt; the model shape and data must be the same."""
        path = self.directory / RESUME_FILE
        if not path.exists():
            raise TrainConfigError(f"cannot resume: {path} does not exist (start without --resume)")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # torch raises many types for truncated or foreign files
            raise TrainConfigError(f"cannot read {path}: {e}") from None
        if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
            raise TrainConfigError(f"{path} is not a training state written by python -m solver train")
        if state["model_config"] != self.model_config.to_dict():
            raise TrainConfigError(f"cannot resume: {path} was trained with another model shape or dataset "
                                   f"({state['model_config']}); keep arch and data_paths as they were")
        for name in ("data_paths", "global_batch_size", "seed"):
            if state["config"].get(name) != getattr(self.config, name):
                raise TrainConfigError(f"cannot resume: {name} was {state['config'].get(name)!r}, now "
                                       f"{getattr(self.config, name)!r}; keep it as it was")
        device = self.process.device
        self.model.load_state_dict({k: v.to(device) for k, v in state["model"].items()})
        self.adam.load_state_dict(state["adam"])
        if self.ema is not None:
            if state["ema"]:
                self.ema.load_state_dict({k: v.to(device) for k, v in state["ema"].items()})
            else:  # the run had no EMA so far: start averaging from the current weights
                self.ema = EMA(self.model, self.config.ema_rate)
        self.step = int(state["step"])
        self.position = BatchPosition(*state["position"])
        self.seconds = float(state["seconds"])
        self.started_from = state.get("started_from")
        self.last_metrics = dict(state["train_metrics"])
        if self.process.is_main:
            self.metrics_log.truncate_after(self.step)
        if state["carry"] and self.process.is_main:
            self.carry = Carry.from_state_dict(state["carry"], device)
            self.exploration.set_state(state["exploration_rng"])

    # ------------------------------------------------------------------------------------- updates

    def update(self, batch: dict[str, torch.Tensor]) -> tuple[float, dict[str, torch.Tensor]]:
        """One optimiser step on the carried batch; returns (loss per puzzle, summed metrics)."""
        config, model, device = self.config, self.model, self.process.device
        batch = {k: v.to(device) for k, v in batch.items()}
        if self.carry is None:
            self.carry = Carry.empty(model, batch)
        autocast = (torch.autocast(device.type, dtype=self.autocast_dtype)
                    if device.type == "cuda" and self.autocast_dtype != torch.float32 else nullcontext())
        with autocast:
            self.carry, logits, q_halt, rows = supervision_step(
                model, self.carry, batch, exploration_prob=float(config.arch_values()["halt_exploration_prob"]),
                generator=self.exploration)
            loss, metrics = act_loss(logits, q_halt, self.carry.labels, self.carry.halted, self.carry.steps,
                                     self.model_config.loss_type)
        (loss / config.global_batch_size).backward()

        ids, row_grads = self.carry.puzzle_identifiers, rows.grad if rows is not None else None
        if self.process.world_size > 1:  # UNTESTED: sum gradients over processes as the reference does
            for p in model.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
            if row_grads is not None:
                ids, row_grads = _all_gather(ids), _all_gather(row_grads)

        self.step += 1
        schedule: dict[str, Any] = dict(warmup_steps=config.lr_warmup_steps, total_steps=self.total_steps,
                                        min_ratio=config.lr_min_ratio)
        lr = lr_at(self.step, base_lr=config.lr, **schedule)
        for group in self.adam.param_groups:
            group["lr"] = lr
        self.adam.step()
        self.adam.zero_grad(set_to_none=True)
        if row_grads is not None:
            sparse_sign_sgd_(model.puzzle_emb.weights, ids, row_grads,
                             lr=lr_at(self.step, base_lr=config.puzzle_emb_lr, **schedule),
                             weight_decay=config.puzzle_emb_weight_decay)
        if self.ema is not None:
            self.ema.update(model)
        metrics["lr"] = torch.tensor(lr)
        return float(loss.detach()) / config.global_batch_size, metrics

    def evaluate_held_out(self) -> dict[str, Any] | None:
        """Figures of the current EMA weights on the test split (at most eval_limit puzzles), or None."""
        from solver.evaluate import evaluate_model

        if not (self.config.data_path / "test" / "dataset.json").exists():
            return None
        model = TRM(self.model_config).to(self.process.device)
        model.load_state_dict(self.weights_to_save())
        return evaluate_model(model.eval().requires_grad_(False), load_split(self.config.data_path, "test"),
                              limit=self.config.eval_limit)

    def run(self, on_step: Callable[[int, float, dict[str, torch.Tensor]], None] | None = None) -> TrainResult:
        """Train until total_steps. on_step(step, loss, metrics) is called after every update (between
        updates, so raising KeyboardInterrupt there is a clean interruption, like Ctrl-C)."""
        config = self.config
        if self.process.is_main:
            self.log(f"training {self.model_config.kind} model ({self.model_config.variant}, "
                     f"{self.model.num_parameters():,} parameters) on {config.data_path} for {self.total_steps} "
                     f"updates of {config.global_batch_size} puzzles on {self.process.device}"
                     + (f" x{self.process.world_size}" if self.process.world_size > 1 else "")
                     + (f", resuming at update {self.step}" if self.step else ""))
        self._clock = time.perf_counter()
        self._between_updates = True
        try:
            with self.stop_on_signals():
                self._loop(on_step)
        except KeyboardInterrupt:
            self._bank_time()
            if self._between_updates:
                self.save()
                self.log(f"stopped after update {self.step}; saved {self.directory / RESUME_FILE}: "
                         "run again with --resume to continue")
            else:
                self.log(f"stopped during update {self.step + 1}; --resume continues from the last save")
            raise
        self._bank_time()
        if config.eval_at_end and self.process.is_main:
            self.evaluation = self.evaluate_held_out()
            if self.evaluation is not None:
                self.log(f"held-out: {headline(self.evaluation)}")
                self._record_held_out(self.evaluation)
        path = self.save()
        self.metrics_log.board.close()
        if self.process.is_main:
            self.log(f"saved {path} (update {self.step})")
        return TrainResult(checkpoint=path, step=self.step, losses=self.losses, metrics=self.last_metrics,
                           evaluation=self.evaluation)

    def _training_seconds(self) -> float:
        return self.seconds + time.perf_counter() - self._clock

    def _record_held_out(self, figures: dict[str, Any]) -> None:
        kept = {k: v for k, v in figures.items() if not isinstance(v, (dict, list))}  # the headline numbers
        self.metrics_log.write({"step": self.step, "seconds": round(self._training_seconds(), 3), "held_out": kept})

    def _bank_time(self) -> None:
        now = time.perf_counter()
        self.seconds += now - self._clock
        self._clock = now

    def _loop(self, on_step: Callable[[int, float, dict[str, torch.Tensor]], None] | None) -> None:
        config = self.config
        stream = train_batches(self.split, global_batch_size=config.global_batch_size, seed=config.seed,
                               start=self.position, rank=self.process.rank, world_size=self.process.world_size)
        window = MetricWindow()
        window_start = (time.perf_counter(), self.step)
        while self.step < self.total_steps:
            self._between_updates = False
            position, batch = next(stream)
            loss, metrics = self.update(batch)
            self.position = position
            self._between_updates = True
            self.losses.append(loss)
            window.add({k: v for k, v in metrics.items() if k != "lr"})
            if self.process.is_main and (self.step % max(config.log_every, 1) == 0 or self.step == self.total_steps):
                self.last_metrics = {k: round(v, 6) for k, v in window.averages(config.global_batch_size).items()}
                self.last_metrics["lr"] = float(metrics["lr"])
                rate = (self.step - window_start[1]) / max(time.perf_counter() - window_start[0], 1e-9)
                self.log(progress_line(self.step, self.total_steps, self.last_metrics, rate))
                self.metrics_log.write({"step": self.step, "seconds": round(self._training_seconds(), 3),
                                        "updates_per_second": round(rate, 4), "loss": round(window_loss(self.last_metrics), 6),
                                        **self.last_metrics})
                window, window_start = MetricWindow(), (time.perf_counter(), self.step)
            if on_step is not None:
                on_step(self.step, loss, metrics)
            if config.eval_every and self.step % config.eval_every == 0 and self.process.is_main:
                figures = self.evaluate_held_out()
                if figures is not None:
                    self.log(f"held-out at step {self.step}: {headline(figures)}")
                    self._record_held_out(figures)
            if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                self._bank_time()
                self.save()
            if self.stop_requested:
                raise KeyboardInterrupt


def window_loss(m: dict[str, float]) -> float:
    """The loss the updates since the last log line minimised, per puzzle: answer plus weighted halting."""
    return m.get("lm_loss", 0.0) + Q_HALT_LOSS_WEIGHT * m.get("q_halt_loss", 0.0)


def progress_line(step: int, total: int, m: dict[str, float], rate: float) -> str:
    """One log line: loss and accuracies of the updates since the last line, speed and time left."""
    return (f"step {step}/{total} | loss {window_loss(m):.4f} | acc {m.get('accuracy', 0):.3f}"
            f" | exact {m.get('exact_accuracy', 0):.3f} | q_halt_acc {m.get('q_halt_accuracy', 0):.3f}"
            f" | halt@ {m.get('steps', 0):.1f} | lr {m['lr']:.2e} | {rate:.2f} upd/s"
            f" | eta {_format_seconds((total - step) / max(rate, 1e-9))}")


def headline(figures: dict[str, Any]) -> str:
    from solver.evaluate import headline as evaluation_headline

    return evaluation_headline(figures)


def _all_gather(t: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def train(config: TrainConfig, *, resume: bool = False, process: Process | None = None,
          on_step: Callable[[int, float, dict[str, torch.Tensor]], None] | None = None,
          log: Callable[[str], None] | None = None) -> TrainResult:
    """Run (or with resume=True continue) the training `config` describes; see the module docstring."""
    trainer = Trainer(config, process=process, log=log, resuming=resume)
    existing = trainer.directory / RESUME_FILE
    if resume:
        trainer.resume()
    elif existing.exists():
        raise TrainConfigError(f"{trainer.directory} already holds a run ({existing}); pass --resume to continue "
                               "it, or choose another checkpoint_path")
    elif trainer.process.is_main:
        trainer.metrics_log.truncate_after(0)  # a new run: no lines of one that never saved
    return trainer.run(on_step)

