"""`manage.py add_checkpoint FILE [--name NAME] [--kind KIND] [--activate]`: the admin upload from a shell.

FILE is a project `.safetensors` checkpoint, a reference `step_N` file with the `all_config.yaml` of its
run beside it (converted on arrival), or a Hugging Face folder (`python -m solver export --format hf`:
config.json and model.safetensors; converted on arrival). It goes through the same service as the admin upload
(puzzles.services.checkpoints.checkpoint_upload), so it passes the same checks; it is copied into the
web's checkpoint folder first, so the source may be deleted afterwards. A refused file leaves no row and
no copy, and the command exits 2 with the reason on one line.
"""

import re
import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from puzzles.services.model_cache import checkpoint_file
from puzzles.models import PUZZLE_KINDS
from puzzles.services.checkpoints import checkpoint_staging_folder, checkpoint_upload, checkpoint_upload_refusal
from solver.checkpoint import export_checkpoint, is_project_file
from solver.hf_format import is_hf_folder

REFUSED = 2


def _refused(message: str) -> CommandError:
    return CommandError(" ".join(message.split()), returncode=REFUSED)


def default_name(file: Path) -> str:
    """A project file is named by its stem; a reference `step_N` by its run's folder and step."""
    if re.fullmatch(r"step_\d+", file.name):
        return f"{file.resolve().parent.name}-{file.name}"
    return file.stem


class Command(BaseCommand):
    help = ("Add a checkpoint file (a project .safetensors, or a reference step_N with all_config.yaml beside it) "
            "with the admin upload's checks; the file is copied, so the source may be deleted afterwards.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="the checkpoint file")
        parser.add_argument("--name", help="how jobs and the API refer to it (default: from the file's name)")
        parser.add_argument("--kind", choices=[kind for kind, _label in PUZZLE_KINDS],
                            help="puzzle kind, needed only when a reference run's data paths do not name it")
        parser.add_argument("--activate", action="store_true", help="make it the default for new jobs of its kind")

    def handle(self, *args, file: Path, name: str | None, kind: str | None, activate: bool, **options) -> None:
        if file.is_dir() and is_hf_folder(file):
            with tempfile.TemporaryDirectory() as converted:
                project = Path(converted) / f"{file.name}.safetensors"
                try:
                    export_checkpoint(file, project, fmt="project")
                except ValueError as error:
                    raise _refused(f"{file}: {error}") from None
                return self.handle(file=project, name=name or file.name, kind=kind, activate=activate, **options)
        if not file.is_file():
            raise _refused(f"{file}: no such file (nor a Hugging Face folder with config.json and model.safetensors)")
        name = name or default_name(file)
        # Asked before copying: a name already taken or a file too large is refused without copying gigabytes.
        refusal = checkpoint_upload_refusal(name=name, upload_name=file.name, size=file.stat().st_size)
        if refusal:
            raise _refused(refusal)
        config = None
        if not is_project_file(file):
            config = file.parent / "all_config.yaml"
            if not config.is_file():
                raise _refused(f"{file} is not a project .safetensors checkpoint, and a reference step_N checkpoint "
                               f"needs the all_config.yaml of its run beside it; there is none in {file.parent}")
        staging = checkpoint_staging_folder()
        staging.mkdir(parents=True, exist_ok=True)
        # Copies in the staging folder, as an upload streams there: keeping one is then a rename, and
        # whatever the service does not keep goes with the folder, also on Ctrl-C.
        with tempfile.TemporaryDirectory(dir=staging, prefix="add-checkpoint-") as work_dir:
            upload = Path(shutil.copyfile(file, Path(work_dir) / "checkpoint"))
            config_copy = Path(shutil.copyfile(config, Path(work_dir) / "all_config.yaml")) if config else None
            try:
                checkpoint = checkpoint_upload(name=name, upload=upload, upload_name=file.name, config_yaml=config_copy,
                                               config_name=str(config) if config else "all_config.yaml", kind=kind,
                                               activate=activate)
            except ValidationError as error:
                raise _refused(" ".join(error.messages)) from None
        stored = checkpoint_file(checkpoint.path)
        self.stdout.write(
            f"added checkpoint {checkpoint.name!r}: {checkpoint.kind}, {checkpoint.variant}, "
            f"{checkpoint.parameters:,} parameters, {filesizeformat(stored.stat().st_size)}, {checkpoint.content_hash}"
            f"{', active for new ' + checkpoint.kind + ' jobs' if checkpoint.is_active else ''}; stored at {stored}")
