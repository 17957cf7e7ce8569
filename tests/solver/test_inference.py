import numpy as np
import pytest
import torch

from solver.codecs import codec_for
from solver.inference import StepResult, probabilities, solve_steps
from tests.solver.conftest import tiny_model


def sudoku_inputs(n: int = 2) -> np.ndarray:
    codec = codec_for("sudoku")
    return codec.encode_batch(codec.parse_text("\n".join(["." * 81] * n)))


def test_runs_halt_max_steps_by_default(sudoku_model):
    steps = list(solve_steps(sudoku_model, sudoku_inputs()))
    assert [s.step for s in steps] == [1, 2, 3]
    first = steps[0]
    assert isinstance(first, StepResult)
    assert first.tokens.shape == (2, 81) and first.tokens.dtype == np.int64
    assert first.confidence.shape == (2, 81) and first.confidence.dtype == np.float32
    assert ((first.confidence > 0) & (first.confidence <= 1)).all()
    assert first.q_halt_logit.shape == (2,) and first.halt_prob.shape == (2,)
    np.testing.assert_allclose(first.halt_prob, 1 / (1 + np.exp(-first.q_halt_logit)), rtol=1e-6)
    assert first.seconds > 0 and first.frames == []


def test_steps_argument_and_determinism(sudoku_model):
    a = [s.tokens for s in solve_steps(sudoku_model, sudoku_inputs(), steps=5)]
    b = [s.tokens for s in solve_steps(sudoku_model, sudoku_inputs(), steps=2)]
    assert len(a) == 5 and len(b) == 2
    assert all((x == y).all() for x, y in zip(a, b))  # later steps continue, earlier ones do not change


def test_batch_rows_are_independent(sudoku_model):
    inputs = sudoku_inputs(3)
    inputs[1, :9] = np.arange(2, 11)  # a first row of digits 1-9 in puzzle 1 only
    together = list(solve_steps(sudoku_model, inputs))[-1]
    alone = list(solve_steps(sudoku_model, inputs[1:2]))[-1]
    assert (together.tokens[1] == alone.tokens[0]).all()
    np.testing.assert_allclose(together.q_halt_logit[1], alone.q_halt_logit[0], atol=1e-5)


def test_cancel_is_checked_before_each_step(sudoku_model):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    steps = list(solve_steps(sudoku_model, sudoku_inputs(), steps=10, cancel=cancel))
    assert [s.step for s in steps] == [1, 2]


def test_frames_after_each_h_cycle(sudoku_model):
    steps = list(solve_steps(sudoku_model, sudoku_inputs(), frames=True))
    for s in steps:
        assert len(s.frames) == sudoku_model.config.H_cycles
        assert (s.frames[-1] == s.tokens).all()  # the last H cycle is the step's answer


def test_one_dimensional_input_and_tensor_input(sudoku_model):
    one = sudoku_inputs(1)
    a = list(solve_steps(sudoku_model, one[0], steps=1))[0]
    b = list(solve_steps(sudoku_model, torch.from_numpy(one), steps=1))[0]
    assert a.tokens.shape == (1, 81) and (a.tokens == b.tokens).all()


def test_caller_code_between_steps_is_not_in_inference_mode(sudoku_model):
    for _ in solve_steps(sudoku_model, sudoku_inputs(), steps=1):
        assert not torch.is_inference_mode_enabled()


def test_puzzle_ids_select_embeddings():
    model = tiny_model("arc", num_puzzle_identifiers=3)
    with torch.no_grad():
        model.puzzle_emb.weights.normal_(generator=torch.Generator().manual_seed(3))
    inputs = np.repeat(codec_for("arc").encode([[1, 2], [3, 4]])[None], 2, axis=0)
    result = list(solve_steps(model, inputs, [1, 2], steps=1))[0]
    assert result.q_halt_logit[0] != result.q_halt_logit[1]
    with pytest.raises(ValueError, match=r"puzzle id must be in 0..2, got \[0, 5\]"):
        next(solve_steps(model, inputs, [0, 5]))


@pytest.mark.parametrize("bad, message", [
    (np.ones((2, 80), dtype=np.int64), r"inputs must have shape \[batch, 81\], got \[2, 80\]"),
    (np.full((1, 81), 11), r"input tokens must be in 0..10"),
])
def test_bad_inputs(sudoku_model, bad, message):
    with pytest.raises(ValueError, match=message):
        next(solve_steps(sudoku_model, bad))


def test_stablemax_probabilities():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    expected = torch.tensor([[3.0, 1.0, 0.5]]) / 4.5
    torch.testing.assert_close(probabilities(logits, "stablemax_cross_entropy"), expected)
    torch.testing.assert_close(probabilities(logits, "softmax_cross_entropy"), torch.softmax(logits, -1))


def test_splitting_a_big_batch_changes_no_answer(sudoku_model, monkeypatch):
    """On a CPU a large batch runs in chunks (fewer page faults); rows are independent, so only the last bits
    of a few products (a matrix-vector instead of a matrix-matrix kernel) may move."""
    import solver.inference

    inputs = sudoku_inputs(5)
    inputs[:, 0] = np.arange(2, 7)
    whole = list(solve_steps(sudoku_model, inputs, frames=True))
    monkeypatch.setattr(solver.inference, "CPU_CHUNK_BYTES", 1)
    assert solver.inference.rows_per_chunk(sudoku_model) == 1
    split = list(solve_steps(sudoku_model, inputs, frames=True))
    for a, b in zip(whole, split):
        assert (a.tokens == b.tokens).all()
        np.testing.assert_allclose(a.q_halt_logit, b.q_halt_logit, atol=1e-5)
        np.testing.assert_allclose(a.confidence, b.confidence, atol=1e-5)
        assert all((fa == fb).all() for fa, fb in zip(a.frames, b.frames))
