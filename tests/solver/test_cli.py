"""The command line of the design brief. The main paths run as users run them (a subprocess per call); the
many error cases call `main` in-process, which is the same code without paying torch's start-up each time."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from solver.cli import main
from tests.solver.test_codecs import MAZE, SUDOKU

ROOT = Path(__file__).resolve().parents[2]


def solver(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver", *map(str, args)], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    files = {}
    for kind in ("sudoku", "maze"):
        files[kind] = folder / f"{kind}.safetensors"
        done = solver("init", "--kind", kind, "--output", files[kind], "--hidden-size", "16", "--num-heads", "2",
                      "--H-cycles", "2", "--L-cycles", "1", "--halt-max-steps", "3", "--seed", "3")
        assert done.returncode == 0, done.stderr
    return files


def test_solve_imports_only_what_it_uses(checkpoints, tmp_path):
    # A lean start: the parser of every command loads no torch, and `solve` none of the trainer, the
    # evaluator or test-time fitting (solver/cli/__init__.py). The parser reads the dataset builders' defaults
    # (NumPy only, as the codecs need anyway).
    puzzle = tmp_path / "p.txt"
    puzzle.write_text("\n".join(SUDOKU[i:i + 9] for i in range(0, 81, 9)))
    script = ("import sys\n"
              "from solver.cli import build_parser, main\n"
              "build_parser()\n"
              "print('torch' in sys.modules, file=sys.stderr)\n"
              f"main(['solve', '--checkpoint', {str(checkpoints['sudoku'])!r}, '--input', {str(puzzle)!r}, '--steps', '1'])\n"
              "print(sorted(name for name in sys.modules if name.startswith('solver.')), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    torch_after_parser, loaded = done.stderr.strip().splitlines()[-2:]
    assert torch_after_parser == "False"
    assert json.loads(done.stdout.splitlines()[0])["step"] == 1
    unused = {"solver.train", "solver.evaluate", "solver.test_time", "solver.supervision", "solver.losses"}
    assert not unused & set(eval(loaded)), loaded


def test_solve_jsonl_one_puzzle(checkpoints, tmp_path):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text("\n".join(SUDOKU[i:i + 9] for i in range(0, 81, 9)))
    done = solver("solve", "--checkpoint", checkpoints["sudoku"], "--kind", "sudoku", "--input", puzzle,
                  "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3]
    first = lines[0]
    assert "index" not in first
    assert len(first["tokens"]) == 81 and all(0 <= t < 11 for t in first["tokens"])
    assert isinstance(first["q_halt_logit"], float) and 0 < first["halt_prob"] < 1
    assert len(first["grid"]) == 9 and all(len(row) == 9 for row in first["grid"])
    assert len(first["confidence"]) == 81 and first["seconds"] >= 0


def test_solve_computes_in_the_dtype_asked_for(checkpoints, tmp_path, capsys, monkeypatch):
    from solver import devices

    puzzle = tmp_path / "p.txt"
    puzzle.write_text("\n".join(SUDOKU[i:i + 9] for i in range(0, 81, 9)))
    loaded = []  # the dtype of every model solve loads

    def compute_dtype_seen(*args, **kwargs):
        loaded.append(devices.compute_dtype(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr("solver.checkpoint.compute_dtype", compute_dtype_seen)
    base = ["solve", "--checkpoint", str(checkpoints["sudoku"]), "--input", str(puzzle), "--steps", "1"]

    for dtype in (None, "bfloat16", "checkpoint"):
        assert main(base + (["--dtype", dtype] if dtype else [])) == 0
        assert json.loads(capsys.readouterr().out.splitlines()[0])["step"] == 1
    assert loaded == [torch.float32, torch.bfloat16, torch.bfloat16]  # init's checkpoints are trained in bf16
    assert main(base + ["--dtype", "auto"]) == 0
    assert loaded[-1] == (torch.bfloat16 if devices.cpu_has_native_bf16() else torch.float32)
    with pytest.raises(SystemExit):
        main(base + ["--dtype", "float8"])


def test_solve_batch_of_mazes_with_index_and_frames(checkpoints, tmp_path):
    puzzle = tmp_path / "mazes.txt"
    puzzle.write_text("\n".join(MAZE) + "\n\n" + "\n".join(MAZE[::-1]) + "\n")
    done = solver("solve", "--checkpoint", checkpoints["maze"], "--kind", "maze", "--input", puzzle,
                  "--steps", "2", "--frames")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["step"], r["index"]) for r in lines] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert all(len(r["tokens"]) == 900 for r in lines)
    assert [len(row) for row in lines[0]["grid"]] == [7] * 5  # cropped back to the input's size
    assert len(lines[0]["frames"]) == 2


def test_solve_text_format_from_stdin(checkpoints):
    done = solver("solve", "--checkpoint", checkpoints["sudoku"], "--input", "-", "--format", "text",
                  "--steps", "1", stdin=SUDOKU + "\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("step 1: halt_prob ")
    assert len(done.stdout.strip().splitlines()) == 10


def test_solve_error_in_a_subprocess_is_one_line_and_exit_2(checkpoints, tmp_path):
    (tmp_path / "bad.txt").write_text("x" + "." * 80)
    done = solver("solve", "--checkpoint", checkpoints["sudoku"], "--kind", "sudoku", "--input", tmp_path / "bad.txt")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: row 1, column 1: symbol 'x' is not allowed; use 1-9, or '.' or '0' for a blank\n"


@pytest.mark.parametrize("args, message", [
    (["--kind", "sudoku", "--input", "{bad}"], "row 1, column 1: symbol 'x' is not allowed"),
    (["--kind", "maze", "--input", "{good}"], "is a sudoku checkpoint, not maze"),
    (["--kind", "sudoku", "--input", "{missing}"], "cannot read --input"),
    (["--kind", "sudoku", "--input", "{good}", "--puzzle-id", "3"], "puzzle id must be in 0..0"),
    (["--kind", "sudoku", "--input", "{good}", "--steps", "0"], "--steps must be between 1 and 64"),
    (["--kind", "sudoku", "--input", "{good}", "--steps", "65"], "--steps must be between 1 and 64"),
    (["--kind", "sudoku", "--input", "{good}", "--samples", "0"], "--samples must be between 1 and 16"),
    (["--kind", "sudoku", "--input", "{good}", "--samples", "17"], "--samples must be between 1 and 16"),
    (["--kind", "sudoku", "--input", "{good}", "--views", "17"], "--views a sudoku puzzle has views 1 to 16"),
    (["--kind", "sudoku", "--input", "{good}", "--halt", "1.5"], "--halt the halting threshold is a probability"),
    (["--kind", "sudoku", "--input", "{good}", "--noise", "-1"], "--noise must be between 0 and"),
    (["--kind", "sudoku", "--input", "{good}", "--device", "tpu9"], "is not a torch device"),
])
def test_solve_errors_exit_2_with_one_line(checkpoints, tmp_path, capsys, args, message):
    (tmp_path / "bad.txt").write_text("x" + "." * 80)
    (tmp_path / "good.txt").write_text(SUDOKU)
    files = {"bad": tmp_path / "bad.txt", "good": tmp_path / "good.txt", "missing": tmp_path / "none.txt"}
    args = [a.format(**files) for a in args]
    assert main(["solve", "--checkpoint", str(checkpoints["sudoku"]), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_checkpoint_and_missing_demo_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    (tmp_path / "p.txt").write_text(SUDOKU)
    for checkpoint, message in ((broken, "not a valid safetensors file"),
                                ("demo:chess", "unknown demo checkpoint"),
                                (tmp_path / "none.safetensors", "does not exist")):
        assert main(["solve", "--checkpoint", str(checkpoint), "--kind", "sudoku",
                     "--input", str(tmp_path / "p.txt")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_info_convert_and_back(checkpoints, tmp_path, capsys):
    done = solver("info", checkpoints["maze"], "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert (info["kind"], info["variant"], info["trained"]) == ("maze", "attention+rope", False)
    assert info["provenance"]["made_by"] == "python -m solver init"

    assert main(["convert", str(checkpoints["maze"]), str(tmp_path / "ref")]) == 0
    step = tmp_path / "ref" / "step_0"
    assert step.exists() and (tmp_path / "ref" / "all_config.yaml").exists()
    again = tmp_path / "again.safetensors"
    assert main(["convert", str(step), str(again)]) == 0
    capsys.readouterr()
    assert main(["info", str(again)]) == 0
    assert "attention+rope" in capsys.readouterr().out
    assert main(["info", str(again), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["content_hash"] == info["content_hash"]


def test_init_rejects_an_impossible_shape(tmp_path, capsys):
    assert main(["init", "--kind", "maze", "--output", str(tmp_path / "x.safetensors"),
                 "--hidden-size", "30", "--num-heads", "4"]) == 2
    assert "hidden_size 30 is not divisible by num_heads 4" in capsys.readouterr().err


def test_solve_with_a_maze_model_on_a_smaller_field(tmp_path):
    from solver.checkpoint import save_checkpoint
    from tests.solver.conftest import tiny_model

    model = tiny_model("maze", seq_len=100)
    checkpoint = save_checkpoint(model, model.config, tmp_path / "maze10.safetensors", provenance={"made_by": "tests"})
    puzzle = tmp_path / "maze.txt"
    puzzle.write_text("\n".join(MAZE) + "\n")
    done = solver("solve", "--checkpoint", checkpoint, "--input", puzzle, "--steps", "1")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert len(record["tokens"]) == 100 and [len(row) for row in record["grid"]] == [7] * 5

    puzzle.write_text("S" + " " * 10 + "\n" + " " * 10 + "G\n")
    done = solver("solve", "--checkpoint", checkpoint, "--input", puzzle)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: row 1 has 11 cells; at most 10 are allowed by this model, whose field is 10x10\n"
