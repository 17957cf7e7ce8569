"""The JSON shapes of a job's stream, built in one place for the live path and the replay path."""

from puzzles.models import SolveJob, Step


def step_message(step: Step) -> dict:
    message = {
        "type": "step",
        "step": step.number,
        "grid": step.grid,
        "confidence": step.confidence,
        "halt_prob": step.halt_prob,
        "q_halt_logit": step.q_halt_logit,
        "seconds": step.seconds,
        # When the step was saved (Unix seconds): clients on the same clock can measure delivery delay.
        "saved_at": step.created_at.timestamp(),
    }
    if step.frames:
        message["frames"] = step.frames
    if len(step.answers) > 1:
        message["grids"] = step.answers
    return message


def status_message(job: SolveJob) -> dict:
    message = {"type": "status", "status": job.status}
    if job.error:
        message["error"] = job.error
    if job.result is not None:
        message["result"] = job.result
    return message
