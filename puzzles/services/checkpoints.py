"""Writes on checkpoints: registering, uploading, activating and deleting them.

Uploaded checkpoints are kept under MEDIA_ROOT/checkpoints/, always in the project format (a reference
checkpoint is converted on arrival). Nothing is accepted before the solver has read it without pickle and
matched every tensor against its config, and a refused upload leaves neither a row nor a file behind.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.template.defaultfilters import filesizeformat
from django.utils.text import slugify

from puzzles.services.model_cache import checkpoint_file
from puzzles.models import PUZZLE_KINDS, Checkpoint

# solver.checkpoint imports torch (about 2 s and 200 MB). The web process imports this module to route
# requests and reads checkpoints only when one is registered or uploaded, so each function that reads one
# imports it then (`from solver import checkpoint as files`).

DEFAULT_MAX_CHECKPOINT_BYTES = 8 * 2**30  # an ARC-AGI checkpoint with its puzzle table is about 2 GB


def checkpoint_max_bytes() -> int:
    """The largest checkpoint file an upload may carry (settings.TRM_MAX_CHECKPOINT_BYTES)."""
    return int(getattr(settings, "TRM_MAX_CHECKPOINT_BYTES", DEFAULT_MAX_CHECKPOINT_BYTES))


def checkpoint_folder() -> Path:
    """Where accepted uploads are kept."""
    return Path(settings.MEDIA_ROOT) / "checkpoints"


def checkpoint_staging_folder() -> Path:
    """Where uploads are streamed before they are checked: inside the checkpoint folder, so accepting a
    file of several GB is a rename, not a copy."""
    return checkpoint_folder() / ".incoming"


def _stored_path(path: Path) -> str:
    """Paths inside the project are kept relative, so the project directory can move."""
    path = path.resolve()
    try:
        return str(path.relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def _row_fields(path: Path) -> dict:
    """The Checkpoint fields that describe a project-format file (read and checked by the solver)."""
    from solver import checkpoint as files

    info = files.checkpoint_info(path)
    provenance = info.get("provenance") or {}
    if isinstance(provenance.get("puzzle_identifiers"), list):
        # An ARC checkpoint names each puzzle-embedding row: 876k names (~26 MB of JSON) at the reference's
        # scale, which every read of the row would parse. The row keeps their count; the worker reads the
        # names from the file (puzzles.services.model_cache.cached_identifiers).
        names = provenance["puzzle_identifiers"]
        info = {**info, "provenance": {**provenance, "puzzle_identifiers": f"{len(names):,} names, in the file"}}
    return dict(kind=info["kind"], path=_stored_path(Path(path)), content_hash=info["content_hash"],
                variant=info["variant"], parameters=info["parameters"], halt_max_steps=info["halt_max_steps"],
                trained=info.get("trained", True), info=info)


def checkpoint_register(*, path: Path, name: str, activate: bool = False) -> Checkpoint:
    """Record a project-format checkpoint file (read and checked by the solver) under `name`."""
    fields = _row_fields(path)
    with transaction.atomic():
        checkpoint = Checkpoint.objects.create(name=name, **fields)
        if activate:
            checkpoint_activate(checkpoint=checkpoint)
    return checkpoint


def checkpoint_refresh(*, checkpoint: Checkpoint) -> bool:
    """Bring a row up to date with its file when the file was replaced in place (a newer shipped demo
    after an update of the project); True if it had changed. The row's kind must stay the same."""
    from solver import checkpoint as files

    fields = _row_fields(checkpoint_file(checkpoint.path))
    if fields["content_hash"] == checkpoint.content_hash:
        return False
    if fields["kind"] != checkpoint.kind:
        raise files.CheckpointError(f"{checkpoint.path} now holds a checkpoint for {fields['kind']}; "
                              f"{checkpoint.name} is one for {checkpoint.kind}")
    for name, value in fields.items():
        setattr(checkpoint, name, value)
    checkpoint.save(update_fields=list(fields))
    return True


def checkpoint_activate(*, checkpoint: Checkpoint) -> None:
    """Make `checkpoint` the default for new jobs of its kind.

    Jobs are given their checkpoint when they are submitted, so workers follow without a restart.
    """
    with transaction.atomic():
        Checkpoint.objects.filter(kind=checkpoint.kind, is_active=True).exclude(pk=checkpoint.pk).update(is_active=False)
        Checkpoint.objects.filter(pk=checkpoint.pk).update(is_active=True)
        checkpoint.is_active = True


# ------------------------------------------------------------------------------------------- upload


def _validated_info(path: Path, *, kind: str | None) -> dict:
    """checkpoint_info of a project file, once every tensor has been read and matched against its config."""
    from solver import checkpoint as files

    tensors, config, provenance = files.read_checkpoint(path, kind=kind)
    files.check_tensors(tensors, config, str(path))
    recorded, actual = provenance.get("content_hash"), files.content_hash(tensors)
    if recorded != actual:
        raise files.CheckpointError(f"{path}: the tensors hash to {actual}, but the file records {recorded}; "
                              "it was changed or damaged after it was written")
    if config.kind not in dict(PUZZLE_KINDS):
        raise files.CheckpointError(f"{path}: puzzle kind {config.kind!r} is not served here; "
                              f"the playground serves {', '.join(dict(PUZZLE_KINDS))}")
    return files.checkpoint_info(path)


def _converted(reference: Path, *, kind: str | None, upload_name: str, into: Path) -> Path:
    """The project-format file `into` made from a reference `step_N` file with all_config.yaml beside it."""
    from solver import checkpoint as files

    tensors, config, provenance = files.read_checkpoint(reference, kind=kind)
    provenance = {**provenance, "source": upload_name, "converted_by": "admin upload"}
    if reference.name != upload_name:  # the step number is only known from a step_N name
        provenance["training_step"] = None
    return files.write_project(tensors, config, provenance, into)


def _claim_free_path(folder: Path, stem: str) -> Path:
    """A new empty file named after `stem` in `folder`, created exclusively: moving a file onto it cannot
    clobber a file that another upload or checkpoint owns."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = folder / (f"{stem}.safetensors" if n == 1 else f"{stem}-{n}.safetensors")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        return path
    raise ValidationError(f"{folder} already holds a thousand files named {stem}*; choose another name")


def checkpoint_upload_refusal(*, name: str, upload_name: str, size: int) -> str | None:
    """Why an upload of a `size`-byte file `upload_name` to be kept as `name` would be refused whatever the
    file holds, or None. Asked again by checkpoint_upload; asking first spares sending gigabytes in vain."""
    limit = checkpoint_max_bytes()
    if size > limit:
        return (f"{upload_name} is {filesizeformat(size)}; checkpoints of at most {filesizeformat(limit)} are "
                "accepted (TRM_MAX_CHECKPOINT_BYTES)")
    if Checkpoint.objects.filter(name=name).exists():
        return f"a checkpoint named {name!r} already exists; choose another name"
    return None


def checkpoint_upload(
    *,
    name: str,
    upload: Path,
    upload_name: str,
    config_yaml: Path | None = None,
    config_name: str = "all_config.yaml",
    kind: str | None = None,
    activate: bool = False,
) -> Checkpoint:
    """Accept an uploaded checkpoint: a project `.safetensors` file, or a reference `step_N` file with its
    `all_config.yaml` (converted to the project format on arrival), stored under MEDIA_ROOT/checkpoints/.

    `upload` and `config_yaml` are the files as streamed to disk, best in checkpoint_staging_folder() so
    that keeping one is a rename; they may be moved away, and the caller deletes whatever is left.
    `upload_name` and `config_name` are the names the user gave them, used in messages. `kind` is needed
    only for a reference checkpoint whose data paths do not name its puzzle kind.

    Raises ValidationError saying what is wrong (for a shape mismatch: the tensor and both shapes) when
    the file cannot be served; nothing is then kept, neither a row nor a file.
    """
    from solver import checkpoint as files

    refusal = checkpoint_upload_refusal(name=name, upload_name=upload_name, size=upload.stat().st_size)
    if refusal:
        raise ValidationError(refusal)
    staging = checkpoint_staging_folder()
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging) as work_dir:
        # read_reference wants all_config.yaml beside the step file, and the training step in its name.
        reference = Path(work_dir) / (upload_name if re.fullmatch(r"step_\d+", upload_name) else "step_0")
        converted = Path(work_dir) / "converted.safetensors"
        shown_as = {upload: upload_name, reference: upload_name, reference.parent / "all_config.yaml": config_name,
                    converted: f"{upload_name} (converted to the project format)"}
        try:
            if files.is_project_file(upload):
                if config_yaml is not None:
                    raise ValidationError(f"{upload_name} is a project .safetensors checkpoint, which carries its "
                                          f"own config; {config_name} goes only with a reference step_N checkpoint")
                project_file = upload
            elif config_yaml is None:
                raise ValidationError(f"{upload_name} is not a project .safetensors checkpoint, and a reference "
                                      "step_N checkpoint needs its all_config.yaml uploaded with it")
            else:
                shutil.move(upload, reference)
                shutil.move(config_yaml, reference.parent / "all_config.yaml")
                project_file = _converted(reference, kind=kind, upload_name=upload_name, into=converted)
            info = _validated_info(project_file, kind=kind)
        except files.CheckpointError as error:
            raise ValidationError(_as_uploaded(str(error), shown_as)) from None
        same = Checkpoint.objects.filter(content_hash=info["content_hash"]).first()
        if same is not None:
            raise ValidationError(f"{upload_name} holds the same weights as checkpoint {same.name!r} "
                                  f"({info['content_hash']}); nothing was added")
        stem = f"{slugify(name) or 'checkpoint'}-{info['content_hash'].removeprefix('sha256:')[:12]}"
        stored = _claim_free_path(checkpoint_folder(), stem)
        try:
            shutil.move(project_file, stored)  # a rename on the same file system, however large the file
            return checkpoint_register(path=stored, name=name, activate=activate)
        except IntegrityError:  # the same name was taken a moment ago
            stored.unlink(missing_ok=True)
            raise ValidationError(f"a checkpoint named {name!r} already exists; choose another name") from None
        except BaseException:
            stored.unlink(missing_ok=True)
            raise


def _as_uploaded(message: str, shown_as: dict[Path, str]) -> str:
    """A solver message as the admin user should read it: files by the names they were uploaded as, and
    no terminal escapes or command-line flags."""
    for path, shown in shown_as.items():
        message = message.replace(str(path), shown)
    return re.sub(r"\x1b\[[0-9;]*m", "", message).replace("(--kind)", "(choose the puzzle kind)")


# ------------------------------------------------------------------------------------------- delete


def checkpoint_delete_refusal(*, checkpoint: Checkpoint) -> str | None:
    """Why `checkpoint` may not be deleted now, or None when it may."""
    if checkpoint.is_active:
        return (f"Cannot delete {checkpoint.name}: it is the active {checkpoint.kind} checkpoint, which new "
                f"{checkpoint.kind} jobs use; activate another {checkpoint.kind} checkpoint first.")
    jobs = checkpoint.jobs.count()
    if jobs:
        return (f"Cannot delete {checkpoint.name}: {jobs} solve job{'s' if jobs != 1 else ''} ran with it, and "
                "their steps are what it answered; it can be deleted once those jobs are.")
    return None


def _owned_file(checkpoint: Checkpoint) -> Path | None:
    """The checkpoint's file when deleting the row should delete it too: under MEDIA_ROOT (never a shipped
    file such as a demo checkpoint) and not the file of another checkpoint."""
    file = checkpoint_file(checkpoint.path).resolve()
    if not file.is_relative_to(Path(settings.MEDIA_ROOT).resolve()):
        return None
    others = Checkpoint.objects.exclude(pk=checkpoint.pk).values_list("path", flat=True)
    if any(checkpoint_file(path).resolve() == file for path in others):
        return None
    return file


def checkpoint_delete(*, checkpoint: Checkpoint) -> None:
    """Delete an inactive checkpoint that no job uses, and its file when the upload put it in MEDIA_ROOT.

    Raises ValidationError with the reason when the checkpoint is active or in use.
    """
    with transaction.atomic():
        current = Checkpoint.objects.select_for_update().filter(pk=checkpoint.pk).first()
        if current is None:
            return
        refusal = checkpoint_delete_refusal(checkpoint=current)
        if refusal:
            raise ValidationError(refusal)
        file = _owned_file(current)
        try:
            current.delete()
        except ProtectedError:  # a job was submitted with it a moment ago
            raise ValidationError(f"Cannot delete {current.name}: a solve job has just been given it.") from None
        if file is not None:
            # Only once the row is surely gone: a rolled-back delete must keep its file.
            transaction.on_commit(lambda: file.unlink(missing_ok=True))
