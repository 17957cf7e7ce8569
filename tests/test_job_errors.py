"""A failed job's `error` is a sentence its viewer can act on, whatever the exception said."""

import pytest
from django.db import OperationalError

from puzzles.job_errors import job_error_message
from solver.checkpoint import CheckpointError

SERVER_PATH = "/srv/trm/var/media/checkpoints/secret-run/step_100"


@pytest.mark.parametrize(("error", "says"), [
    (CheckpointError(f"checkpoint {SERVER_PATH} does not exist"), "the checkpoint 'tiny' could not be loaded"),
    (MemoryError(f"could not allocate 7 GiB for {SERVER_PATH}"), "ran out of memory"),
    (OperationalError(f'connection to server at "10.0.0.3", port 5432 failed: {SERVER_PATH}'), "lost the database"),
    (RuntimeError(f"shape mismatch in {SERVER_PATH}/model.py line 3"), "an internal error, logged on the server as job 42"),
])
def test_the_message_names_what_happened_and_never_the_exception_text(error, says):
    message = job_error_message(error, job_id=42, checkpoint_name="tiny")

    assert says in message
    assert "/" not in message and type(error).__name__ not in message and str(error) not in message
