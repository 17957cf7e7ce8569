"""The JSON shapes of a job's stream, built in one place for the live path and the replay path.

`step` and `status` are every job's. An ARC job answered by test-time fitting (solver/test_time.py) also
streams events, each with `seq` (1-based order within the job) and `after_step` (the steps saved before it;
a replay sends it right after that step), in this order:

    {"type": "phase", "phase": "fit", "augmentations": K, "fit_steps": N, "seconds": 0}
    {"type": "fit", "step", "steps", "loss", "accuracy", "exact_accuracy", "seconds"}    (at most ~200 of them)
    {"type": "phase", "phase": "solve", "augmentations": K, "seconds": <fit time>}
    then for each supervision step n: the usual `step` message (the first augmentation, the identity, so
    the job page works unchanged), then for each of the first few augmentations
    {"type": "aug_step", "augmentation": i, "transform": {"dihedral": 0-7, "colours": [10 ints]}, "step": n,
     "grid": its answer to the first test input mapped back to the task's frame, "grids": (several tests),
     "halt_prob", "input": the augmented first test input (step 1 only)}
    {"type": "vote", "attempts": [g1, g2], "candidates": [{"grid", "count", "confidence"}] (first test input),
     "tests": [{"attempts", "candidates"}] (every test input), "augmentations": K, "fitted": bool,
     "timings": {"fit", "solve", "vote"} (seconds)}

A task the checkpoint was trained on skips the fit: no `fit` messages, `"fitted": false` in the vote.
"""

from puzzles.models import JobEvent, SolveJob, Step


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


def event_message(event: JobEvent) -> dict:
    return {**event.payload, "seq": event.seq, "after_step": event.after_step}
