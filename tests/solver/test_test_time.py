"""Test-time fitting of an ARC task's puzzle embedding, solving under augmentations, and the vote."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from solver.checkpoint import load_checkpoint
from solver.codecs import codec_for
from solver.inference import StepResult
from solver.losses import act_loss
from solver.limits import BudgetError, fit_budget
from solver.test_time import (Augmentation, FitProgress, TaskEmbeddings, TaskStep, TaskVotes,
                              demonstration_examples, draw_augmentations, event_record, fit_task_embedding,
                              known_task_embeddings, run_task, solve_task, vote, warm_start_rows,
                              with_puzzle_table)
from solver.supervision import Carry, supervision_step
from tests.solver.conftest import tiny_model

PROJECT_DIR = __import__("pathlib").Path(__file__).resolve().parents[2]

# Swap the two columns: a rule the network cannot know without the puzzle embedding.
TASK = {"train": [{"input": [[1, 2], [3, 4]], "output": [[2, 1], [4, 3]]},
                  {"input": [[5, 0], [0, 6]], "output": [[0, 5], [6, 0]]}],
        "test": [{"input": [[1, 0], [0, 2]]}]}


@pytest.fixture(scope="module")
def arc_model(tiny_checkpoint_files):
    torch.set_num_threads(1)  # the machine is shared; one thread is as fast for these sizes
    model, _config = load_checkpoint(tiny_checkpoint_files["arc"])
    return model


def first_step_loss(model, embeddings: TaskEmbeddings) -> float:
    """The trainer's loss after one supervision step from the start, on every demonstration example."""
    view = with_puzzle_table(model, embeddings.table)
    examples = demonstration_examples(TASK, embeddings.augmentations, embeddings.rows, seed=0)
    with torch.no_grad():
        carry, logits, q_halt, _ = supervision_step(view, Carry.empty(view, examples), examples,
                                                    exploration_prob=0.0, generator=None)
        loss, _ = act_loss(logits, q_halt, carry.labels, carry.halted, carry.steps)
    return float(loss) / examples["inputs"].shape[0]


def test_fitting_leaves_the_network_untouched_and_gives_it_no_gradient(arc_model):
    before = {name: tensor.clone() for name, tensor in arc_model.state_dict().items()}
    flags = [p.requires_grad for p in arc_model.parameters()]
    progress: list[FitProgress] = []

    embeddings = fit_task_embedding(arc_model, TASK, augmentations=draw_augmentations(TASK, 2), steps=4, lr=0.05,
                                    batch_size=2, progress_callback=progress.append)

    assert [p.step for p in progress] == [1, 2, 3, 4]
    assert all(torch.equal(before[name], tensor) for name, tensor in arc_model.state_dict().items())
    assert all(p.grad is None for p in arc_model.parameters())
    assert [p.requires_grad for p in arc_model.parameters()] == flags
    assert embeddings.table.shape == (2, arc_model.config.puzzle_emb_ndim) and embeddings.rows == [0, 1]
    assert embeddings.table.abs().sum() > 0  # the rows did move
    assert arc_model.puzzle_emb.weights.shape[0] == arc_model.config.num_puzzle_identifiers  # its table is its own


def test_the_loss_on_the_demonstrations_goes_down_over_a_few_dozen_steps(arc_model):
    augmentations = draw_augmentations(TASK, 1)
    zero = fit_task_embedding(arc_model, TASK, augmentations=augmentations, steps=0)
    fitted = fit_task_embedding(arc_model, TASK, augmentations=augmentations, steps=30, lr=0.05, batch_size=2)

    assert first_step_loss(arc_model, fitted) < first_step_loss(arc_model, zero) - 0.05
    assert np.mean(fitted.losses[-5:]) < np.mean(fitted.losses[:5])


def test_drawn_augmentations_start_with_the_identity_and_undo_exactly():
    augmentations = draw_augmentations(TASK, 8, seed=3)
    assert augmentations[0].is_identity and len(set(augmentations)) == len(augmentations) == 8
    grid = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for augmentation in augmentations:
        assert np.array_equal(augmentation.undo(augmentation.apply(grid)), grid)
    assert any(augmentation.apply(grid).shape == (3, 2) for augmentation in augmentations)  # some transpose


def step_of(augmentations: list[Augmentation], answers: list[np.ndarray], q_halt: list[float]) -> TaskStep:
    """A last supervision step whose tokens are the given answers, drawn in each augmentation's frame."""
    arc = codec_for("arc")
    tokens = np.stack([arc.encode(aug.apply(answer).tolist()) for aug, answer in zip(augmentations, answers)])
    q = np.array(q_halt, dtype=np.float32)
    result = StepResult(step=16, tokens=tokens, confidence=np.ones_like(tokens, dtype=np.float32), q_halt_logit=q,
                        halt_prob=1 / (1 + np.exp(-q)), seconds=0.0)
    from solver.voting import arc_crop

    mapped = [[aug.undo(arc_crop(row))] for aug, row in zip(augmentations, tokens)]
    return TaskStep(result, augmentations, 1, mapped)


def test_the_vote_maps_each_augmented_answer_back_and_counts_it():
    augmentations = draw_augmentations(TASK, 5, seed=1)
    truth = np.array([[0, 1], [2, 0], [3, 3]], dtype=np.uint8)  # not symmetric: a missed inverse shows
    wrong = np.array([[7]], dtype=np.uint8)
    answers = [truth, truth, truth, wrong, wrong]
    # The wrong answer is more confident, but three copies agree after mapping back.
    last = step_of(augmentations, answers, [-1.0, -1.0, -1.0, 4.0, 4.0])

    (result,) = vote(last)

    assert np.array_equal(result.attempts[0], truth) and np.array_equal(result.attempts[1], wrong)
    assert [c["count"] for c in result.candidates] == [3, 2]
    assert result.candidates[0]["grid"] == truth.tolist()
    assert result.candidates[0]["confidence"] == pytest.approx(1 / (1 + np.exp(1.0)), abs=1e-6)


def test_equal_votes_are_ranked_by_halting_confidence():
    augmentations = draw_augmentations(TASK, 2, seed=1)
    a, b = np.array([[1]], dtype=np.uint8), np.array([[2, 2]], dtype=np.uint8)
    (result,) = vote(step_of(augmentations, [a, b], [-3.0, 2.0]))
    assert [g.tolist() for g in result.attempts] == [b.tolist(), a.tolist()]


def test_solving_votes_over_every_augmentation(arc_model):
    augmentations = draw_augmentations(TASK, 3)
    embeddings = fit_task_embedding(arc_model, TASK, augmentations=augmentations, steps=1, batch_size=2)
    (result,) = solve_task(arc_model, TASK, embeddings, steps=2)
    assert sum(c["count"] for c in result.candidates) == 3
    assert 1 <= len(result.attempts) <= 2


def test_a_known_task_keeps_its_learned_rows_and_is_not_fitted():
    model = tiny_model("arc", num_puzzle_identifiers=4)
    perm = "0234567891"
    identifiers = ["<blank>", f"other|||t1|||{perm}", f"swap|||t6|||{perm}", "swap"]
    known = known_task_embeddings(identifiers, "swap")
    assert known.rows == [3, 2] and known.augmentations[0].is_identity
    assert known.augmentations[1] == Augmentation(6, tuple(int(c) for c in perm))
    assert known_task_embeddings(identifiers, "unknown") is None

    events = list(run_task(model, {**TASK, "task": "swap"}, budget=fit_budget("cpu"), identifiers=identifiers, steps=2))
    assert not any(isinstance(e, FitProgress) for e in events)
    assert [e.step for e in events if isinstance(e, TaskStep)] == [1, 2]
    assert isinstance(events[-1], TaskVotes) and events[-1].fitted is False


@pytest.mark.parametrize("device, options, message", [
    ("cpu", {"augmentations": 65}, "augmentations must be between 1 and 64"),
    ("cpu", {"augmentations": 0}, "augmentations must be between 1 and 64"),
    ("cpu", {"fit_steps": 501}, "fit_steps must be between 0 and 500"),
    ("cpu", {"fit_steps": -1}, "fit_steps must be between 0 and 500"),
    ("cuda", {"augmentations": 1001}, "augmentations must be between 1 and 1000"),
])
def test_budgets_outside_the_limits_are_refused(device, options, message):
    with pytest.raises(BudgetError, match=message):
        fit_budget(device, **options)


def test_budgets_default_to_the_device_and_take_values_within_limits():
    assert fit_budget("cpu").augmentations == 8
    assert fit_budget("gpu").augmentations == 1000
    assert fit_budget("cuda", augmentations=1000, fit_steps=5000).fit_steps == 5000
    assert fit_budget("cpu", fit_steps=0).fit_steps == 0


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver", "fit-solve", *args], cwd=PROJECT_DIR, capture_output=True,
                          text=True, timeout=120)


def test_fit_solve_prints_the_three_phases_as_json_lines(tiny_checkpoint_files, tmp_path):
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(TASK))

    done = run_cli("--checkpoint", str(tiny_checkpoint_files["arc"]), "--input", str(task_file),
                   "--augmentations", "2", "--fit-steps", "3", "--steps", "2", "--threads", "1")

    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["phase"], r.get("step")) for r in records] == [
        ("fit", 1), ("fit", 2), ("fit", 3), ("solve", 1), ("solve", 2), ("vote", None)]
    assert all(np.isfinite(r["loss"]) and 0 <= r["accuracy"] <= 1 for r in records[:3])
    vote_record = records[-1]
    assert vote_record["fitted"] is True and set(vote_record["timings"]) == {"fit", "solve", "vote"}
    assert sum(c["count"] for c in vote_record["tests"][0]["candidates"]) == 2


def test_fit_solve_refuses_a_budget_outside_the_limits(tiny_checkpoint_files, tmp_path):
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(TASK))
    done = run_cli("--checkpoint", str(tiny_checkpoint_files["arc"]), "--input", str(task_file), "--augmentations", "65")
    assert done.returncode == 2
    assert "augmentations must be between 1 and 64" in done.stderr
    done = run_cli("--checkpoint", str(tiny_checkpoint_files["arc"]), "--input", str(task_file), "--warm-start", "-1")
    assert done.returncode == 2 and "--warm-start must be 0 or more" in done.stderr


def test_a_fit_starts_from_the_learned_row_that_answers_the_demonstrations_best():
    # A checkpoint whose table holds, among rows of noise, one row fitted to this task (as training on many
    # tasks of a rule leaves rows that mean it): the warm start finds that row and the fit starts there.
    model = tiny_model("arc", num_puzzle_identifiers=8, seq_len=5 * 5)  # a 5x5 canvas: the task's 2x2 grids fit
    identity = draw_augmentations(TASK, 1)
    fitted = fit_task_embedding(model, TASK, augmentations=identity, steps=200, lr=0.05)
    with torch.no_grad():
        model.puzzle_emb.weights.copy_(torch.randn(model.puzzle_emb.weights.shape, generator=torch.Generator().manual_seed(5)))
        model.puzzle_emb.weights[5] = fitted.table[0]
    names = ["<blank>", *(f"task-{i}" for i in range(1, 8))]

    warm = warm_start_rows(model, TASK, candidates=7, identifiers=names)
    assert (warm.row, warm.name, warm.candidates) == (5, "task-5", 7)
    augmented = warm_start_rows(model, TASK, candidates=7, identifiers=names[:5] + ["task-5|||t1|||0123456789"] * 3)
    assert augmented.row != 5 and augmented.candidates == 4  # an augmentation's row is no candidate when names tell

    budget = fit_budget("cpu", fit_steps=2, augmentations=2)
    events = list(run_task(model, TASK, budget=dataclasses.replace(budget, warm_start=7), identifiers=names, steps=2))
    fits = [e for e in events if isinstance(e, FitProgress)]
    assert fits[0].started_from.row == 5
    assert event_record(fits[0])["started_from"] == {"row": 5, "name": "task-5", "loss": warm.loss,
                                                     "accuracy": warm.accuracy, "candidates": 7}
    assert "started_from" not in event_record(fits[1])
    zero = list(run_task(model, TASK, budget=dataclasses.replace(budget, warm_start=0), identifiers=names, steps=2))
    assert [e for e in zero if isinstance(e, FitProgress)][0].started_from is None


def test_warm_start_candidates_cover_every_family_before_any_family_twice():
    from solver.test_time import _candidate_rows

    names = ["<blank>", *(f"{family}-{n}" for family in ("flip-h", "scale", "border", "count") for n in range(1, 31))]
    names += [f"{name}|||t1|||0123456789" for name in names[1:5]]  # augmentations are no candidates
    for seed in range(5):
        chosen = _candidate_rows(names, len(names), 6, seed)
        families = [names[row].rsplit("-", 1)[0] for row in chosen]
        assert len(chosen) == 6 and set(families) == {"flip-h", "scale", "border", "count"}
        assert max(families.count(f) for f in set(families)) == 2
    assert _candidate_rows(names, len(names), 6, 1) == _candidate_rows(names, len(names), 6, 1)
    assert len(_candidate_rows(None, 10, 4, 0)) == 4  # no names: any rows
