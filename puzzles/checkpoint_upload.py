"""Receiving a checkpoint upload: the files stream to disk in chunks, each under its size cap, then a form
hands them to the `checkpoint_upload` service.

Checkpoints run to several GB, so no part of one is ever held in memory: `CheckpointUploadHandler` writes
each chunk as it arrives into the staging folder beside the checkpoint folder (accepting a file is then a
rename) and stops writing a file the moment it passes its cap. The handler must be installed before the
request body is parsed, that is before the CSRF check reads request.POST; see `CheckpointAdmin`.
"""

import tempfile

from django import forms
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.template.defaultfilters import filesizeformat

from puzzles.models import PUZZLE_KINDS
from puzzles.services.checkpoints import checkpoint_max_bytes, checkpoint_staging_folder

CONFIG_MAX_BYTES = 1_000_000  # an all_config.yaml is a few KB


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

    def __init__(self, *args, refused: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = refused or {}

    def full_clean(self) -> None:
        super().full_clean()
        for field, reason in self.refused.items():
            if field in self.fields:
                self.errors.pop(field, None)  # "This field is required" says less than why it is missing
                self.add_error(field, reason)
