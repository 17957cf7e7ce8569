"""`manage.py ensure_checkpoints`: make sure every puzzle kind has an active checkpoint.

Uses the demo checkpoint the repository ships for a kind (`solver/demo/<kind>.safetensors`), registered as
`demo-<kind>`. Where none is shipped, it makes a small randomly initialised one instead (`untrained-<kind>`)
and says so everywhere it is shown (admin, playground, job page): the pipeline then runs end to end, but
the answers are noise. `make run` calls it at every start, so after an update of the project a demo whose
file changed is re-read, and a demo that now ships replaces the untrained stand-in; a checkpoint an operator
activated is left active.
"""

import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from puzzles.models import PUZZLE_KINDS, Checkpoint
from puzzles.services.checkpoints import checkpoint_activate, checkpoint_refresh, checkpoint_register

DEMO_DIR = Path(settings.BASE_DIR) / "solver" / "demo"


class Command(BaseCommand):
    help = "Register the shipped demo checkpoints and activate one per puzzle kind where none is active."

    def handle(self, *args, **options):
        for kind, _label in PUZZLE_KINDS:
            active = Checkpoint.objects.filter(kind=kind, is_active=True).first()
            demo = self._demo(kind)
            if demo is not None and (active is None or active.name == f"untrained-{kind}"):
                checkpoint_activate(checkpoint=demo)
                self.stdout.write(f"{kind}: active checkpoint {demo.name}")
            elif active is None:
                checkpoint = self._untrained(kind)
                checkpoint_activate(checkpoint=checkpoint)
                self.stdout.write(f"{kind}: active checkpoint {checkpoint.name}")

    def _demo(self, kind: str) -> Checkpoint | None:
        """The shipped demo's row, registered or brought up to date; None if the kind has no demo."""
        path = DEMO_DIR / f"{kind}.safetensors"
        if not path.exists():
            return None
        name = f"demo-{kind}"
        existing = Checkpoint.objects.filter(name=name).first()
        if existing is None:
            return checkpoint_register(path=path, name=name)
        if checkpoint_refresh(checkpoint=existing):
            self.stdout.write(f"{kind}: {path.name} has changed since it was registered; {name} now describes "
                              "the new file")
        return existing

    def _untrained(self, kind: str) -> Checkpoint:
        name = f"untrained-{kind}"
        existing = Checkpoint.objects.filter(name=name).first()
        if existing:
            return existing
        path = Path(settings.MEDIA_ROOT) / "checkpoints" / f"{name}.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"{kind}: no demo checkpoint is shipped yet; making an untrained one (random weights)")
        subprocess.run(
            [sys.executable, "-m", "solver", "init", "--kind", kind, "--output", str(path),
             "--hidden-size", "128", "--num-heads", "4", "--seed", "0"],
            check=True,
        )
        return checkpoint_register(path=path, name=name)
