"""Receiving a checkpoint upload: the files stream to disk in chunks, each under its size cap, then a form
hands them to the `checkpoint_upload` service.

Checkpoints run to several GB, so no part of one is ever held in memory. Two ways in:

- A plain multipart form (no JavaScript): `CheckpointUploadHandler` writes each chunk as it arrives into
  the staging folder beside the checkpoint folder (accepting a file is then a rename) and stops writing a
  file the moment it passes its cap. The handler must be installed before the request body is parsed,
  that is before the CSRF check reads request.POST; see `CheckpointAdmin`. Under daphne, though, the whole
  request body is in memory before Django sees it.
- So the upload page's script sends the checkpoint as a `ChunkedUpload`: a start request, then pieces of
  at most CHUNK_MAX_BYTES each in order, appended to one staging file; then the form, naming the upload
  instead of carrying the file. Memory then holds one piece at most.
"""

import fcntl
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django import forms
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.template.defaultfilters import filesizeformat

from puzzles.models import PUZZLE_KINDS
from puzzles.services.checkpoints import checkpoint_max_bytes, checkpoint_staging_folder

CONFIG_MAX_BYTES = 1_000_000  # an all_config.yaml is a few KB
CHUNK_BYTES = 8 * 2**20  # what the upload page sends at a time
CHUNK_MAX_BYTES = 16 * 2**20  # what one chunk request may carry: daphne holds it in memory whole
ABANDONED_AFTER_SECONDS = 24 * 3600  # a chunked upload untouched this long is deleted when another starts


class StagedUploadedFile(TemporaryUploadedFile):
    """An uploaded file on disk in the checkpoint staging folder, deleted when closed unless moved away."""

    def __init__(self, name: str, content_type: str, size: int, charset: str | None, content_type_extra=None):
        folder = checkpoint_staging_folder()
        folder.mkdir(parents=True, exist_ok=True)
        file = tempfile.NamedTemporaryFile(suffix=".upload", dir=folder)
        UploadedFile.__init__(self, file, name, content_type, size, charset, content_type_extra)


class CheckpointUploadHandler(FileUploadHandler):
    """Streams the checkpoint and its config to the staging folder, dropping a file that passes its cap.

    A dropped file is missing from request.FILES; `refused` says why, by form field.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.limits = {"checkpoint": checkpoint_max_bytes(), "config": CONFIG_MAX_BYTES}
        self.refused: dict[str, str] = {}

    def new_file(self, field_name, *args, **kwargs) -> None:
        super().new_file(field_name, *args, **kwargs)
        self.file = StagedUploadedFile(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        limit = self.limits.get(self.field_name, 0)  # files in other fields are not wanted at all
        if start + len(raw_data) > limit:
            # The parser closes (so deletes) the file and reads past the rest of it without keeping it.
            self.refused[self.field_name] = (f"{self.file_name} is larger than {filesizeformat(limit)}, the most "
                                             f"this field accepts; nothing of it was kept")
            raise SkipFile
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile:
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()  # deletes it


class UploadRefused(Exception):
    """A chunked-upload request that cannot be served: `message` says why and what to do, `status` is the
    HTTP status to answer with, `received` (when known) the bytes of the upload on disk so far."""

    def __init__(self, message: str, *, status: int = 400, received: int | None = None):
        super().__init__(message)
        self.message, self.status, self.received = message, status, received


@dataclass(frozen=True)
class ChunkedUpload:
    """A checkpoint sent in pieces, in order: `chunked-<id>.part` in the staging folder holds the bytes so far,
    `chunked-<id>.json` beside it who started it, the size and name of the file, and when.

    The id is random and unguessable, and only the staff user who started an upload may add to it or
    finish it. Nothing is read into memory beyond one block of a chunk at a time.
    """

    id: str
    owner_id: int
    size: int
    file_name: str
    created: float

    @property
    def part_path(self) -> Path:
        return checkpoint_staging_folder() / f"chunked-{self.id}.part"

    @property
    def record_path(self) -> Path:
        return checkpoint_staging_folder() / f"chunked-{self.id}.json"

    @classmethod
    def start(cls, *, owner_id: int, size: int, file_name: str) -> "ChunkedUpload":
        """A new, empty upload of a `size`-byte file, after deleting abandoned ones."""
        limit = checkpoint_max_bytes()
        if not 0 < size <= limit:
            raise UploadRefused(f"{file_name} is {filesizeformat(size)}; checkpoints of 1 byte to "
                                f"{filesizeformat(limit)} are accepted (TRM_MAX_CHECKPOINT_BYTES)",
                                status=413 if size > limit else 400)
        folder = checkpoint_staging_folder()
        folder.mkdir(parents=True, exist_ok=True)
        _delete_abandoned_uploads(folder)
        upload = cls(id=secrets.token_hex(16), owner_id=owner_id, size=size, file_name=file_name,
                     created=time.time())
        upload.part_path.touch(exist_ok=False)
        upload.record_path.write_text(json.dumps({"owner_id": owner_id, "size": size, "file_name": file_name,
                                                  "created": upload.created}))
        return upload

    @classmethod
    def get(cls, upload_id: str, *, owner_id: int) -> "ChunkedUpload":
        """The upload `upload_id`, when it exists and `owner_id` started it."""
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id or ""):
            raise UploadRefused(f"{upload_id!r} is not an upload id; start the upload again")
        record_path = checkpoint_staging_folder() / f"chunked-{upload_id}.json"
        try:
            record = json.loads(record_path.read_text())
        except FileNotFoundError:
            raise UploadRefused("this upload is unknown: it was finished, refused, or abandoned for a day and "
                                "deleted; start the upload again", status=404) from None
        upload = cls(id=upload_id, **record)
        if upload.owner_id != owner_id:
            raise UploadRefused("this upload was started by another user; only they can add to it", status=403)
        return upload

    def append(self, body: BinaryIO, *, offset: int, length: int) -> int:
        """Append the `length` bytes of `body`, which must start at byte `offset` of the file; the bytes on
        disk afterwards. A chunk that would pass the declared size or the cap deletes the whole upload."""
        if not 0 < length <= CHUNK_MAX_BYTES:
            raise UploadRefused(f"a chunk carries 1 byte to {filesizeformat(CHUNK_MAX_BYTES)}; this one announced "
                                f"{length:,} bytes", status=413 if length > 0 else 400)
        try:
            file = open(self.part_path, "r+b")
        except FileNotFoundError:
            raise UploadRefused("this upload was deleted meanwhile; start the upload again", status=404) from None
        with file:
            fcntl.flock(file, fcntl.LOCK_EX)  # a retry racing the request it repeats waits, then sees its bytes
            received = file.seek(0, os.SEEK_END)
            if offset != received:
                raise UploadRefused(f"this chunk starts at byte {offset:,}, but {received:,} bytes of {self.file_name} "
                                    f"have arrived; send the chunk that starts at byte {received:,}",
                                    status=409, received=received)
            limit = min(self.size, checkpoint_max_bytes())
            if offset + length > limit:
                self.discard()
                raise UploadRefused(f"this chunk would make {self.file_name} {offset + length:,} bytes, past the "
                                    f"{limit:,} bytes it may have (its declared size and TRM_MAX_CHECKPOINT_BYTES); "
                                    "the upload was deleted", status=413)
            copied = 0
            try:
                while copied < length:
                    block = body.read(min(2**20, length - copied))
                    if not block:
                        break
                    file.write(block)
                    copied += len(block)
                if copied != length:
                    raise UploadRefused(f"the chunk ended after {copied:,} of the {length:,} bytes it announced; "
                                        "send it again", received=offset)
            except BaseException:
                file.truncate(offset)  # a chunk is appended whole or not at all
                raise
            return offset + length

    def claim(self) -> Path:
        """The complete file, taken out of the upload for checking (a second claim finds no upload); the
        caller deletes it when it is not kept. An incomplete upload is deleted and refused."""
        claimed = self.part_path.with_suffix(".checking")
        try:
            self.part_path.rename(claimed)
        except FileNotFoundError:
            raise UploadRefused("this upload is being checked already, or was deleted; start the upload again",
                                status=404) from None
        self.record_path.unlink(missing_ok=True)
        os.utime(claimed)  # being checked now, so not abandoned
        received = claimed.stat().st_size
        if received != self.size:
            claimed.unlink(missing_ok=True)
            raise UploadRefused(f"only {received:,} of the {self.size:,} bytes of {self.file_name} arrived; the "
                                "upload was deleted, send the file again", status=409)
        return claimed

    def discard(self) -> None:
        self.part_path.unlink(missing_ok=True)
        self.record_path.unlink(missing_ok=True)


def _delete_abandoned_uploads(folder: Path) -> None:
    """Delete the chunked uploads whose files were all last written over ABANDONED_AFTER_SECONDS ago."""
    too_old = time.time() - ABANDONED_AFTER_SECONDS
    uploads: dict[str, list[Path]] = {}
    for path in folder.glob("chunked-*"):
        uploads.setdefault(path.stem, []).append(path)
    for paths in uploads.values():
        if max(_last_written(path) for path in paths) < too_old:
            for path in paths:
                path.unlink(missing_ok=True)


def _last_written(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # finished or deleted by another request meanwhile
        return 0.0


class CheckpointUploadForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="How jobs and the API refer to it, e.g. sudoku-extreme-v2.")
    checkpoint = forms.FileField(
        allow_empty_file=False,
        help_text="A project .safetensors file, or a reference training checkpoint (step_N).",
    )
    config = forms.FileField(
        required=False,
        allow_empty_file=False,
        label="all_config.yaml",
        help_text="Only with a reference step_N checkpoint: the all_config.yaml of its training run.",
    )
    kind = forms.ChoiceField(
        choices=[("", "from the checkpoint"), *PUZZLE_KINDS],
        required=False,
        label="Puzzle kind",
        help_text="Needed only when a reference run's data paths do not name the puzzle kind.",
    )
    activate = forms.BooleanField(required=False, help_text="Make it the default for new jobs of its kind.")
    # Set by the page's script, which sent the checkpoint beforehand as a ChunkedUpload.
    upload_id = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, refused: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = refused or {}
        if self.data.get("upload_id"):
            self.fields["checkpoint"].required = False

    def clean(self) -> dict:
        data = super().clean()
        if data.get("upload_id") and data.get("checkpoint"):
            raise forms.ValidationError("the checkpoint came both in the form and as a chunked upload; send it once")
        return data

    def full_clean(self) -> None:
        super().full_clean()
        for field, reason in self.refused.items():
            if field in self.fields:
                self.errors.pop(field, None)  # "This field is required" says less than why it is missing
                self.add_error(field, reason)
