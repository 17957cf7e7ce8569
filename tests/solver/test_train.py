"""Training: losses and optimiser against hand computations, and real (tiny) training runs on the CPU."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from solver.checkpoint import checkpoint_info, load_checkpoint
from solver.data import BatchPosition, load_split, train_batches
from solver.losses import IGNORE_LABEL_ID, act_loss, stablemax_cross_entropy
from solver.optim import AdamAtan2, EMA, lr_at, sparse_sign_sgd_
from solver.cli.train import register
from solver.cli import main
from solver.metrics_plot import read_metrics
from solver.train import Trainer, TrainConfigError, load_train_config, train
from tests.solver.conftest import tiny_model


def sudoku_solutions(count: int, seed: int = 0) -> np.ndarray:
    """`count` different solved Sudokus [count, 9, 9] (digits 1-9): a base pattern, relabelled and shuffled."""
    rng = np.random.default_rng(seed)
    base = np.array([[(3 * (r % 3) + r // 3 + c) % 9 + 1 for c in range(9)] for r in range(9)])
    out = []
    for _ in range(count):
        digits = np.concatenate([[0], rng.permutation(9) + 1])
        rows = np.concatenate([3 * band + rng.permutation(3) for band in rng.permutation(3)])
        cols = np.concatenate([3 * stack + rng.permutation(3) for stack in rng.permutation(3)])
        out.append(digits[base[rows][:, cols]])
    return np.stack(out)


def write_sudoku_dataset(root: Path, *, train: int = 8, test: int = 4, blanks: int = 30, seed: int = 0,
                         test_labels: np.ndarray | None = None) -> Path:
    """A tiny Sudoku dataset in the reference layout: each puzzle its own group, one example each."""
    rng = np.random.default_rng(seed + 1)
    solutions = sudoku_solutions(train + test, seed).reshape(train + test, 81)
    puzzles = solutions.copy()
    for p in puzzles:
        p[rng.choice(81, blanks, replace=False)] = 0
    for split, rows in (("train", slice(0, train)), ("test", slice(train, train + test))):
        inputs, labels = puzzles[rows] + 1, solutions[rows] + 1
        if split == "test" and test_labels is not None:
            labels = test_labels
        write_split(root / split, inputs, labels, kind_shape=(81, 11))
    return root


def write_split(directory: Path, inputs: np.ndarray, labels: np.ndarray, *, kind_shape: tuple[int, int],
                identifiers: np.ndarray | None = None) -> None:
    """One split of single-example puzzles, one group each, in the reference's file layout."""
    n = len(inputs)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "inputs": inputs.astype(np.uint8), "labels": labels.astype(np.uint8),
        "puzzle_identifiers": (np.zeros(n) if identifiers is None else identifiers).astype(np.int32),
        "puzzle_indices": np.arange(n + 1, dtype=np.int32), "group_indices": np.arange(n + 1, dtype=np.int32),
    }
    for name, array in arrays.items():
        np.save(directory / f"all__{name}.npy", array)
    num_ids = 1 if identifiers is None else int(identifiers.max()) + 1
    (directory / "dataset.json").write_text(json.dumps({
        "seq_len": kind_shape[0], "vocab_size": kind_shape[1], "pad_id": 0, "ignore_label_id": 0,
        "blank_identifier_id": 0, "num_puzzle_identifiers": num_ids, "total_groups": n,
        "mean_puzzle_examples": 1, "total_puzzles": n, "sets": ["all"]}))


TINY_ARCH = {"hidden_size": 32, "num_heads": 2, "expansion": 2, "H_cycles": 2, "L_cycles": 2, "halt_max_steps": 2,
             "puzzle_emb_ndim": 32, "puzzle_emb_len": 1, "pos_encodings": "learned", "forward_dtype": "float32"}


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread, above all when other processes share the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_config(data: Path, run: Path, **values):
    settings = dict(data_paths=[str(data)], checkpoint_path=str(run), arch=dict(TINY_ARCH), global_batch_size=8,
                    max_steps=40, lr=3e-3, lr_warmup_steps=5, weight_decay=0.0, puzzle_emb_lr=1e-2,
                    puzzle_emb_weight_decay=0.0, ema_rate=0.9, log_every=10, checkpoint_every=0, eval_limit=None)
    settings.update(values)
    return load_train_config(None, **settings)


# ------------------------------------------------------------------------------------ hand computations


def test_stablemax_cross_entropy_matches_hand_computation():
    logits = torch.tensor([[[2.0, -1.0, 0.0]], [[0.5, 0.5, -3.0]]])
    labels = torch.tensor([[0], [IGNORE_LABEL_ID]])
    # s(2) = 3, s(-1) = 1/2, s(0) = 1: p(label 0) = 3 / 4.5
    expected = -math.log(3 / 4.5)
    loss = stablemax_cross_entropy(logits, labels)
    assert loss.dtype == torch.float64
    assert loss[0, 0].item() == pytest.approx(expected, rel=1e-12)
    assert loss[1, 0].item() == 0.0  # ignored label


def test_act_loss_combines_token_loss_and_halting_loss():
    logits = torch.tensor([[[2.0, -1.0, 0.0], [0.0, 1.0, 0.0]]])
    labels = torch.tensor([[0, 1]])
    q_halt = torch.tensor([0.3])
    loss, metrics = act_loss(logits, q_halt, labels, halted=torch.tensor([True]), steps=torch.tensor([2]))
    token = (-math.log(3 / 4.5) - math.log(2 / 4)) / 2
    halting = -math.log(1 / (1 + math.exp(-0.3)))  # the answer is right: target 1
    assert loss.item() == pytest.approx(token + 0.5 * halting, rel=1e-6)
    assert metrics["exact_accuracy"].item() == 1 and metrics["count"].item() == 1 and metrics["steps"].item() == 2


def test_adam_atan2_matches_hand_computation():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = AdamAtan2([p], lr=0.1, betas=(0.9, 0.95), weight_decay=0.5)
    grads = [torch.tensor([0.2, -0.4]), torch.tensor([-0.1, 0.3])]
    expected = np.array([1.0, -2.0])
    m = np.zeros(2)
    v = np.zeros(2)
    for t, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        g = g.numpy().astype(np.float64)
        expected = expected * (1 - 0.1 * 0.5)
        m = 0.9 * m + 0.1 * g
        v = 0.95 * v + 0.05 * g * g
        expected = expected - 0.1 / (1 - 0.9 ** t) * np.arctan2(m, np.sqrt(v) / math.sqrt(1 - 0.95 ** t))
    assert p.detach().numpy() == pytest.approx(expected, rel=1e-6)


def test_sign_sgd_updates_only_used_rows_with_summed_gradients():
    table = torch.ones(4, 2)
    grads = torch.tensor([[1.0, -1.0], [-3.0, 0.5], [2.0, 0.0]])
    sparse_sign_sgd_(table, torch.tensor([2, 2, 0]), grads, lr=0.1, weight_decay=1.0)
    # row 2: summed gradient (-2, -0.5) -> +0.1 each after decay 0.9; row 0: (2, 0) -> -0.1, 0
    assert table.numpy().ravel() == pytest.approx([0.8, 0.9, 1, 1, 1.0, 1.0, 1, 1])


def test_warmup_then_cosine_schedule():
    kwargs = dict(base_lr=1.0, warmup_steps=10, total_steps=110)
    assert lr_at(5, **kwargs, min_ratio=0.0) == 0.5
    assert lr_at(10, **kwargs, min_ratio=1.0) == 1.0 and lr_at(100, **kwargs, min_ratio=1.0) == 1.0
    assert lr_at(60, **kwargs, min_ratio=0.0) == pytest.approx(0.5)
    assert lr_at(110, **kwargs, min_ratio=0.1) == pytest.approx(0.1)


def test_ema_averages_parameters():
    layer = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(0.0)
    ema = EMA(layer, rate=0.75)
    with torch.no_grad():
        layer.weight.fill_(4.0)
    ema.update(layer)
    assert ema.averaged_state_dict(layer)["weight"].item() == pytest.approx(1.0)


@pytest.mark.parametrize("variant", [dict(mlp_t=True, pos_encodings="none"), dict(mlp_t=False, pos_encodings="rope")])
def test_the_differentiated_cycle_equals_the_inference_cycle_bit_for_bit_and_has_gradients(variant):
    model = tiny_model("sudoku", **variant)
    x = model.embed(torch.randint(1, 11, (3, 81)), torch.zeros(3, dtype=torch.long))
    z_H, z_L = model.initial_state(3)
    with torch.no_grad():
        expected = model.cycle(z_H, z_L, x)  # in place where it can
    got = model.cycle(z_H, z_L, x)  # under autograd: out of place
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])
    got[0].square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.L_level.parameters())


# ---------------------------------------------------------------------------------------------- data


def test_training_batches_are_full_deterministic_and_resumable(tmp_path):
    split = load_split(write_sudoku_dataset(tmp_path / "data", train=10), "train")
    stream = train_batches(split, global_batch_size=4, seed=3)
    first = [next(stream) for _ in range(7)]
    assert all(b["inputs"].shape == (4, 81) for _, b in first)
    labels = torch.cat([b["labels"] for _, b in first])
    assert (labels != 0).all() and labels.min() >= 2  # digits 1-9 -> tokens 2-10; nothing ignored
    resumed = train_batches(split, global_batch_size=4, seed=3, start=first[2][0])
    for (_, expected), (_, got) in zip(first[3:], resumed):
        assert torch.equal(expected["inputs"], got["inputs"])
    assert isinstance(first[0][0], BatchPosition)


def test_config_errors_name_the_setting(tmp_path):
    data = write_sudoku_dataset(tmp_path / "data")
    with pytest.raises(TrainConfigError, match="arch.hidden_sise"):
        tiny_config(data, tmp_path / "run", arch={"hidden_sise": 4})
    with pytest.raises(TrainConfigError, match="checkpoint_path"):
        load_train_config(None, data_paths=[str(data)])
    config_file = tmp_path / "c.yaml"
    config_file.write_text(f"data_paths: ['{data}']\ncheckpoint_path: {tmp_path / 'run'}\narch:\n  hidden_size: 64\n")
    config = load_train_config(config_file, ["arch.hidden_size=32", "max_steps=7"])
    assert config.arch["hidden_size"] == 32 and config.max_steps == 7


# ---------------------------------------------------------------------------------------------- runs


def test_training_overfits_eight_puzzles_and_writes_a_loadable_checkpoint(tmp_path, one_thread):
    data = write_sudoku_dataset(tmp_path / "data")
    lines: list[str] = []
    result = train(tiny_config(data, tmp_path / "run", max_steps=60), log=lines.append)
    early, late = np.mean(result.losses[:5]), np.mean(result.losses[-5:])
    assert late < 0.5 * early, (early, late)
    assert any(line.startswith("step 60/60 | loss") for line in lines)
    # 51 of 81 cells are given: a model that only copied its input would stay near 63% of tokens right.
    assert result.metrics["accuracy"] > 0.72, result.metrics

    model, config = load_checkpoint(result.checkpoint)
    assert config.kind == "sudoku" and config.hidden_size == 32
    info = checkpoint_info(result.checkpoint)
    provenance = info["provenance"]
    assert info["steps"] == 60 and info["trained"] is True
    assert provenance["data_paths"] == [str(data)] and provenance["train_config"]["max_steps"] == 60
    assert "exact_accuracy" in provenance["train_metrics"]
    assert provenance["evaluation"]["split"] == "test" and provenance["evaluation"]["puzzles"] == 4


def test_resume_after_interruption_gives_the_same_losses(tmp_path, one_thread):
    data = write_sudoku_dataset(tmp_path / "data")
    settings = dict(max_steps=16, eval_at_end=False)
    straight = train(tiny_config(data, tmp_path / "straight", **settings), log=lambda _: None)

    def interrupt(step, loss, metrics):
        if step == 9:  # as Ctrl-C would: the run finishes this update, saves, and stops
            os.kill(os.getpid(), signal.SIGINT)

    config = tiny_config(data, tmp_path / "interrupted", **settings)
    with pytest.raises(KeyboardInterrupt):
        train(config, on_step=interrupt, log=lambda _: None)
    with pytest.raises(TrainConfigError, match="--resume"):
        train(config, log=lambda _: None)
    resumed = train(config, resume=True, log=lambda _: None)
    assert resumed.step == 16
    assert resumed.losses == straight.losses[9:]
    a, _ = load_checkpoint(straight.checkpoint)
    b, _ = load_checkpoint(resumed.checkpoint)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name


def test_training_writes_its_metrics_and_plot_metrics_draws_them(tmp_path, one_thread):
    data = write_sudoku_dataset(tmp_path / "data")
    run = tmp_path / "run"
    result = train(tiny_config(data, run, max_steps=6, log_every=2, eval_at_end=True), log=lambda _: None)

    windows, held_out = read_metrics(run)
    assert [w["step"] for w in windows] == [2, 4, 6]
    assert windows[-1]["lr"] == result.metrics["lr"] and windows[-1]["accuracy"] == result.metrics["accuracy"]
    assert windows[0]["seconds"] <= windows[-1]["seconds"] and windows[-1]["loss"] > 0
    assert [h["step"] for h in held_out] == [6]
    assert held_out[0]["held_out"]["exact_accuracy"] == result.evaluation["exact_accuracy"]
    # The same figures as TensorBoard events, where the package is installed (it is pinned).
    assert tensorboard_scalars(run, "train/accuracy") == [(w["step"], pytest.approx(w["accuracy"])) for w in windows]
    assert tensorboard_scalars(run, "held_out/exact_accuracy") == [(6, pytest.approx(result.evaluation["exact_accuracy"]))]

    assert main(["plot-metrics", str(run)]) == 0
    png = (run / "metrics.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert main(["plot-metrics", str(tmp_path / "data")]) == 2  # no metrics there: one line, exit 2


def test_a_resumed_run_has_each_logged_update_once_in_its_metrics(tmp_path, one_thread):
    data = write_sudoku_dataset(tmp_path / "data")
    config = tiny_config(data, tmp_path / "run", max_steps=12, log_every=3, checkpoint_every=4, eval_at_end=False)

    def power_cut(step, loss, metrics):
        if step == 10:  # after the line of update 9, before any save past update 8
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        train(config, on_step=power_cut, log=lambda _: None)
    assert [w["step"] for w in read_metrics(tmp_path / "run")[0]] == [3, 6, 9]
    train(config, resume=True, log=lambda _: None)  # from update 8: update 9 runs, and is logged, again

    assert [w["step"] for w in read_metrics(tmp_path / "run")[0]] == [3, 6, 9, 12]
    assert [step for step, _ in tensorboard_scalars(tmp_path / "run", "train/loss")] == [3, 6, 9, 12]


def tensorboard_scalars(run, tag: str) -> list[tuple[int, float]]:
    """(step, value) of one tag as TensorBoard reads the run's event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


def test_training_can_start_from_a_checkpoints_weights_and_records_it(tmp_path, one_thread):
    data = write_sudoku_dataset(tmp_path / "data")
    first = train(tiny_config(data, tmp_path / "first", max_steps=12, eval_at_end=False), log=lambda _: None)
    trained, _ = load_checkpoint(first.checkpoint)

    config = tiny_config(data, tmp_path / "second", max_steps=4, eval_at_end=False,
                         load_checkpoint=str(first.checkpoint))
    trainer = Trainer(config, log=lambda _: None)
    for name, weight in trained.state_dict().items():
        assert torch.equal(trainer.model.state_dict()[name], weight), name
    fresh = Trainer(tiny_config(data, tmp_path / "fresh", max_steps=4), log=lambda _: None)
    assert not torch.equal(fresh.model.state_dict()["lm_head.weight"], trained.state_dict()["lm_head.weight"])

    second = train(config, log=lambda _: None)
    started_from = checkpoint_info(second.checkpoint)["provenance"]["started_from"]
    assert started_from["checkpoint"] == str(first.checkpoint) and started_from["training_step"] == 12

    # Resumed after the starting file was replaced (as demo-train --install replaces it): the run keeps the
    # history it started from, and its weights come from resume.pt, not from the new file.
    import shutil
    shutil.copyfile(second.checkpoint, first.checkpoint)
    resumed = train(tiny_config(data, tmp_path / "second", max_steps=6, eval_at_end=False,
                                load_checkpoint=str(first.checkpoint)), resume=True, log=lambda _: None)
    assert resumed.step == 6
    assert checkpoint_info(resumed.checkpoint)["provenance"]["started_from"]["training_step"] == 12

    with pytest.raises(TrainConfigError, match="load_checkpoint: .*shape"):
        Trainer(tiny_config(data, tmp_path / "other", arch={**TINY_ARCH, "puzzle_emb_len": 2},
                            load_checkpoint=str(first.checkpoint)), log=lambda _: None)
    with pytest.raises(TrainConfigError, match="load_checkpoint: .*does not exist|load_checkpoint: .*No such"):
        Trainer(tiny_config(data, tmp_path / "missing", load_checkpoint=str(tmp_path / "nothing.safetensors")),
                log=lambda _: None)


def test_train_command_reads_yaml_with_overrides(tmp_path, one_thread, capsys):
    import yaml

    data = write_sudoku_dataset(tmp_path / "data")
    config = tmp_path / "sudoku.yaml"
    config.write_text(yaml.safe_dump({"data_paths": [str(data)], "checkpoint_path": str(tmp_path / "run"),
                                      "arch": TINY_ARCH, "global_batch_size": 4, "epochs": 1, "log_every": 1}))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["train", "--config", str(config), "max_steps=4", "eval_every=2", "--device", "cpu"])
    args.func(args)
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "run" / "model.safetensors")
    assert "step 4/4" in out.err and "held-out at step 2: 4 puzzles" in out.err
    assert (tmp_path / "run" / "config.yaml").exists() and (tmp_path / "run" / "resume.pt").exists()
    assert checkpoint_info(tmp_path / "run" / "model.safetensors")["steps"] == 4
