"""`manage.py ensure_checkpoints` (run by `make run` at every start): the shipped demos become the active
checkpoints, a demo replaced by an update of the project is re-read, and an operator's choice is kept."""

import shutil

import pytest
from django.core.management import call_command

from puzzles.management.commands import ensure_checkpoints
from puzzles.models import Checkpoint
from puzzles.services.checkpoints import checkpoint_register
from solver.checkpoint import checkpoint_info

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_dir(tmp_path, monkeypatch, tiny_checkpoint_files):
    """A demo folder of this test's own, shipping tiny Sudoku and maze checkpoints and no ARC one."""
    folder = tmp_path / "demo"
    folder.mkdir()
    for kind in ("sudoku", "maze"):
        shutil.copyfile(tiny_checkpoint_files[kind], folder / f"{kind}.safetensors")
    monkeypatch.setattr(ensure_checkpoints, "DEMO_DIR", folder)
    return folder


def active_names() -> dict[str, str]:
    return dict(Checkpoint.objects.filter(is_active=True).values_list("kind", "name"))


def test_the_shipped_demos_become_active_and_a_kind_without_one_gets_an_untrained_stand_in(demo_dir, media_root):
    call_command("ensure_checkpoints")
    assert active_names() == {"sudoku": "demo-sudoku", "maze": "demo-maze", "arc": "untrained-arc"}
    assert (media_root / "checkpoints" / "untrained-arc.safetensors").is_file()
    call_command("ensure_checkpoints")  # every start runs it: nothing more is added
    assert Checkpoint.objects.count() == 3


def test_a_demo_that_now_ships_replaces_the_untrained_stand_in_but_not_an_operators_choice(
        demo_dir, media_root, tiny_checkpoint_files):
    checkpoint_register(path=tiny_checkpoint_files["maze"], name="untrained-maze", activate=True)
    checkpoint_register(path=tiny_checkpoint_files["sudoku"], name="operators-sudoku", activate=True)
    call_command("ensure_checkpoints")
    assert active_names()["maze"] == "demo-maze"
    assert active_names()["sudoku"] == "operators-sudoku"


def test_a_demo_file_replaced_by_an_update_is_read_again(demo_dir, media_root, tiny_checkpoint_files):
    call_command("ensure_checkpoints")
    shutil.copyfile(tiny_checkpoint_files["arc"], demo_dir / "sudoku.safetensors")  # another kind: refused
    with pytest.raises(Exception, match="now holds a checkpoint for arc; demo-sudoku is one for sudoku"):
        call_command("ensure_checkpoints")
    from solver.cli import main

    # A retrained demo: other weights, same kind.
    assert main(["init", "--kind", "sudoku", "--output", str(demo_dir / "sudoku.safetensors"),
                 "--hidden-size", "16", "--num-heads", "2", "--seed", "7"]) == 0
    call_command("ensure_checkpoints")
    row = Checkpoint.objects.get(name="demo-sudoku")
    assert row.content_hash == checkpoint_info(demo_dir / "sudoku.safetensors")["content_hash"]
    assert row.info["config"]["hidden_size"] == 16 and row.is_active
