"""What a failed job's `error` says: a reason its viewer can act on, never the exception's own text.

Anyone with a job's id reads its `error` (the REST API, the stream's status message), and an exception's
text names server paths, library internals and sometimes settings. The worker logs the traceback; the job
keeps one of the sentences below, chosen by the kind of failure.
"""

from django.db import DatabaseError

from puzzles.services.checkpoint_transfer import CheckpointFetchError
from solver.checkpoint import CheckpointError


def job_error_message(error: BaseException, *, job_id, checkpoint_name: str) -> str:
    """The job's `error` for an exception raised while its worker ran it (the exception is logged apart)."""
    if isinstance(error, (CheckpointError, CheckpointFetchError)):
        return (f"the checkpoint {checkpoint_name!r} could not be loaded on the worker; choose another checkpoint, "
                "or ask an operator to replace it")
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError
        return ("the worker ran out of memory on this job; try again with fewer steps, views or samples, "
                "or a smaller puzzle")
    if isinstance(error, DatabaseError):
        return "the worker lost the database while it ran this job; submit it again in a moment"
    return (f"the worker failed while solving (an internal error, logged on the server as job {job_id}); "
            "submit it again, and tell an operator if it fails again")
