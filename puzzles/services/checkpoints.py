"""Writes on checkpoints: registering a checkpoint file and making it the active one of its kind."""

from pathlib import Path

from django.conf import settings
from django.db import transaction

from puzzles.models import Checkpoint
from solver.checkpoint import checkpoint_info


def _stored_path(path: Path) -> str:
    """Paths inside the project are kept relative, so the project directory can move."""
    path = path.resolve()
    try:
        return str(path.relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def checkpoint_register(*, path: Path, name: str, activate: bool = False) -> Checkpoint:
    """Record a project-format checkpoint file (read and checked by the solver) under `name`."""
    info = checkpoint_info(path)
    with transaction.atomic():
        checkpoint = Checkpoint.objects.create(
            name=name,
            kind=info["kind"],
            path=_stored_path(Path(path)),
            content_hash=info["content_hash"],
            variant=info["variant"],
            parameters=info["parameters"],
            halt_max_steps=info["halt_max_steps"],
            trained=info.get("trained", True),
            info=info,
        )
        if activate:
            checkpoint_activate(checkpoint=checkpoint)
    return checkpoint


def checkpoint_activate(*, checkpoint: Checkpoint) -> None:
    """Make `checkpoint` the default for new jobs of its kind."""
    with transaction.atomic():
        Checkpoint.objects.filter(kind=checkpoint.kind, is_active=True).exclude(pk=checkpoint.pk).update(is_active=False)
        Checkpoint.objects.filter(pk=checkpoint.pk).update(is_active=True)
        checkpoint.is_active = True
