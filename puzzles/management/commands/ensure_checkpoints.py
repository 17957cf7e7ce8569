"""`manage.py ensure_checkpoints`: make sure every puzzle kind has an active checkpoint.

Uses the demo checkpoint the repository ships for a kind (`solver/demo/<kind>.safetensors`). Where none
is shipped yet, it makes a small randomly initialised one instead and says so everywhere it is shown
(admin, playground, job page): the pipeline then runs end to end, but the answers are noise.
"""

import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from puzzles.models import PUZZLE_KINDS, Checkpoint
from puzzles.services.checkpoints import checkpoint_activate, checkpoint_register

DEMO_DIR = Path(settings.BASE_DIR) / "solver" / "demo"


class Command(BaseCommand):
    help = "Register the shipped demo checkpoints and activate one per puzzle kind where none is active."

    def handle(self, *args, **options):
        for kind, _label in PUZZLE_KINDS:
            if Checkpoint.objects.filter(kind=kind, is_active=True).exists():
                continue
            demo = DEMO_DIR / f"{kind}.safetensors"
            if demo.exists():
                name = f"demo-{kind}"
                existing = Checkpoint.objects.filter(name=name).first()
                checkpoint = existing or checkpoint_register(path=demo, name=name)
            else:
                checkpoint = self._untrained(kind)
            checkpoint_activate(checkpoint=checkpoint)
            self.stdout.write(f"{kind}: active checkpoint {checkpoint.name}")

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
