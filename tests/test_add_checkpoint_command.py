"""`manage.py add_checkpoint`, run as an operator runs it (a process of its own on the test database): the
admin upload's checks, a copy the source can be deleted after, and a refusal that leaves nothing behind."""

import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

from puzzles.services.model_cache import checkpoint_file
from puzzles.models import Checkpoint
from tests.conftest import PROJECT_DIR
from tests.stack import database_url_for_subprocess


@pytest.fixture
def add_checkpoint(transactional_db, tmp_path):
    """Runs the command with its own MEDIA_ROOT; returns (exit status, stdout, stderr)."""
    media = tmp_path / "media"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="trmweb.settings", DJANGO_SECRET_KEY=settings.SECRET_KEY,
               DATABASE_URL=database_url_for_subprocess(), TRM_MEDIA_ROOT=str(media))

    def run(*args: str) -> tuple[int, str, str]:
        done = subprocess.run([sys.executable, "manage.py", "add_checkpoint", *map(str, args)], cwd=PROJECT_DIR,
                              env=env, capture_output=True, text=True, timeout=180)
        return done.returncode, done.stdout, done.stderr

    run.media = media
    return run


def kept_files(media) -> list[str]:
    """Every file under the checkpoint folder, staging included."""
    folder = media / "checkpoints"
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_a_project_file_is_copied_registered_and_activated(add_checkpoint, tiny_checkpoint_files, tmp_path):
    source = tmp_path / "mine.safetensors"
    shutil.copyfile(tiny_checkpoint_files["sudoku"], source)

    status, out, err = add_checkpoint(source, "--name", "my-sudoku", "--activate")
    source.unlink()  # the source may go: the web keeps its own copy

    assert status == 0, err
    assert out.startswith("added checkpoint 'my-sudoku': sudoku,")
    assert "active for new sudoku jobs" in out
    checkpoint = Checkpoint.objects.get(name="my-sudoku")
    assert checkpoint.is_active
    stored = checkpoint_file(checkpoint.path)
    assert stored.is_file() and stored.is_relative_to(add_checkpoint.media / "checkpoints")
    assert kept_files(add_checkpoint.media) == [stored.name]  # no staging copy left


def test_a_reference_checkpoint_is_converted_and_named_after_its_run(add_checkpoint, reference_files):
    step, _config = reference_files

    status, out, err = add_checkpoint(step)

    assert status == 0, err
    name = f"{step.parent.name}-step_100"
    checkpoint = Checkpoint.objects.get(name=name)
    assert checkpoint.kind == "sudoku" and not checkpoint.is_active
    assert checkpoint.info["provenance"]["converted_by"] == "admin upload"
    assert step.exists()  # copied, not moved


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda folder: folder / "absent.safetensors", "absent.safetensors: no such file"),
        (lambda folder: _write(folder / "step_7", b"not a checkpoint at all"), "needs the all_config.yaml of its run beside it"),
        (lambda folder: _write(folder / "broken.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json"), "broken.safetensors"),
    ],
    ids=["missing", "reference-without-config", "damaged"],
)
def test_a_refused_file_exits_2_with_one_line_and_leaves_nothing(add_checkpoint, tmp_path, make, words):
    status, out, err = add_checkpoint(make(tmp_path), "--name", "refused")

    assert status == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1, err
    assert not Checkpoint.objects.filter(name="refused").exists()
    assert kept_files(add_checkpoint.media) == []


def test_a_taken_name_and_the_same_weights_again_are_refused(add_checkpoint, tiny_checkpoint_files):
    assert add_checkpoint(tiny_checkpoint_files["maze"], "--name", "maze-one")[0] == 0

    taken = add_checkpoint(tiny_checkpoint_files["arc"], "--name", "maze-one")
    same = add_checkpoint(tiny_checkpoint_files["maze"], "--name", "maze-two")

    assert taken[0] == 2 and "a checkpoint named 'maze-one' already exists" in taken[2]
    assert same[0] == 2 and "holds the same weights as checkpoint 'maze-one'" in same[2]
    assert list(Checkpoint.objects.values_list("name", flat=True)) == ["maze-one"]
    assert len(kept_files(add_checkpoint.media)) == 1


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_a_hugging_face_folder_is_read_back(add_checkpoint, tiny_checkpoint_files, tmp_path):
    from solver.checkpoint import checkpoint_info, export_checkpoint

    folder = export_checkpoint(tiny_checkpoint_files["maze"], tmp_path / "tiny-maze-hf", fmt="hf")
    (tmp_path / "not-a-model").mkdir()

    status, out, err = add_checkpoint(folder, "--activate")

    assert status == 0, err
    saved = Checkpoint.objects.get(name="tiny-maze-hf")
    assert saved.is_active and saved.kind == "maze"
    assert saved.content_hash == checkpoint_info(tiny_checkpoint_files["maze"])["content_hash"]
    assert checkpoint_file(saved.path).is_file()
    status, out, err = add_checkpoint(tmp_path / "not-a-model")
    assert status == 2 and "no such file (nor a Hugging Face folder" in err
