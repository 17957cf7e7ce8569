"""The JSON shapes of a job's stream, built in one place for the live path and the replay path.

`step` and `status` are every job's. A `step` message carries timestamps (Unix seconds, `time.time()`, one
machine's clock) that split its way from the worker to the viewer (bench/streaming.py measures them):

    saved_at       the step's row was created (`Step.created_at`: set as the INSERT is prepared, so moments
                   before the commit); the same on both paths
    computed_at    live only: the worker had the step's tensors, before decoding and saving them
    committed_at   live only: the transaction that saved the step (and its batch companions) had committed
    published_at   live only: the worker handed the message to the channel layer (a batch's steps go one
                   after another, so a later job of the batch waits for the earlier ones' publishes)
    relayed_at     the consumer was about to send the message to this socket (live and replay)

so that, on the live path, computed_at <= saved_at <= committed_at <= published_at <= relayed_at. A replayed
step is built from its row, which keeps no worker times: it has `saved_at` and `relayed_at` only. The times
say when this copy was delivered, so a live and a replayed copy of one step differ in them
(`without_delivery_times` compares the rest).

An ARC job answered by test-time fitting (solver/test_time.py) also streams events, each with `seq`
(1-based order within the job) and `after_step` (the steps saved before it; a replay sends it right after
that step), in this order:

    {"type": "phase", "phase": "fit", "augmentations": K, "fit_steps": N, "seconds": 0,
     "started_from": {"row", "name", "loss", "accuracy", "candidates"} (when the fit starts from a learned
     row: of the checkpoint rows tried, the one that answered the demonstrations best, and how well)}
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

A Sudoku or maze job with samples or views (solver/thinking.py) adds to each `step` message its
`trajectories` ([{"sample", "view", "grid" (mapped back to the puzzle's frame), "halt_prob", "q_halt_logit",
"active" (false once that trajectory has halted)}]), `chosen` (the index of the one whose answer is `grid`)
and `agreeing` (how many give that answer). With a halting threshold a job's steps end where it stopped:
its result says `stopped_by_halting`.

A task the checkpoint was trained on skips the fit: no `fit` messages, `"fitted": false` in the vote.

A staff evaluation's stream (`/ws/evaluations/<id>/`) sends snapshots of its progress, each complete in
itself, so one lost on the way is made good by the next:

    {"type": "evaluation", "status": "queued|running|done|failed", "phase": "generating|evaluating|",
     "done": puzzles evaluated, "total": puzzles to evaluate (0 until the set is ready), "error": ""}
"""

from puzzles.models import Evaluation, JobEvent, SolveJob, Step

# The timestamps of one delivery of a step (see above); `saved_at` is the row's own.
DELIVERY_TIMES = ("computed_at", "committed_at", "published_at", "relayed_at")


def step_message(step: Step) -> dict:
    """The step as saved: what a replay sends (with the consumer's `relayed_at`)."""
    message = {
        "type": "step",
        "step": step.number,
        "grid": step.grid,
        "confidence": step.confidence,
        "halt_prob": step.halt_prob,
        "q_halt_logit": step.q_halt_logit,
        "seconds": step.seconds,
        "saved_at": step.created_at.timestamp(),
    }
    if step.frames:
        message["frames"] = step.frames
    if len(step.answers) > 1:
        message["grids"] = step.answers
    if step.trajectories:  # samples or views: `grid` is the chosen answer, these are all of them
        message.update(trajectories=step.trajectories, chosen=step.chosen, agreeing=step.agreeing)
    return message


def live_step_message(step: Step, *, computed_at: float, committed_at: float) -> dict:
    """The step message as the worker publishes it right after saving: the row's, plus the worker's times."""
    return {**step_message(step), "computed_at": computed_at, "committed_at": committed_at}


def without_delivery_times(message: dict) -> dict:
    """The message less the times of its delivery: what a live and a replayed copy of a step share."""
    return {key: value for key, value in message.items() if key not in DELIVERY_TIMES}


def status_message(job: SolveJob) -> dict:
    message = {"type": "status", "status": job.status}
    if job.error:
        message["error"] = job.error
    if job.result is not None:
        message["result"] = job.result
    return message


def event_message(event: JobEvent) -> dict:
    return {**event.payload, "seq": event.seq, "after_step": event.after_step}


# ------------------------------------------------------------------------ an ARC job's events (see above)
# Built from the solver's own records of its events (solver/test_time.py event_record) and, for the views,
# from its TaskStep (read by attribute: this module loads no torch, the web process imports it).


def arc_fit_phase_message(*, augmentations: int, fit_steps: int, started_from: dict | None = None) -> dict:
    message = {"type": "phase", "phase": "fit", "augmentations": augmentations, "fit_steps": fit_steps, "seconds": 0.0}
    if started_from is not None:  # the learned row the fit starts from
        message["started_from"] = started_from
    return message


def arc_fit_message(record: dict) -> dict:
    """One fitting update, from the solver's `{"phase": "fit", ...}` record (its `started_from` goes in the phase)."""
    return {"type": "fit", **{k: v for k, v in record.items() if k not in ("phase", "started_from")}}


def arc_solve_phase_message(*, augmentations: int, seconds: float) -> dict:
    return {"type": "phase", "phase": "solve", "augmentations": augmentations, "seconds": round(seconds, 4)}


def arc_aug_step_message(event, i: int, grids: list) -> dict:
    """View `i`'s answer at a step (a solver TaskStep), mapped back; its augmented input at step 1."""
    augmentation = event.augmentations[i]
    row = event.row(i, 0)
    message = {"type": "aug_step", "augmentation": i, "transform": augmentation.describe(), "step": event.step,
               "grid": event.answers[i][0].tolist(), "halt_prob": round(float(event.result.halt_prob[row]), 6)}
    if event.tests > 1:
        message["grids"] = [answer.tolist() for answer in event.answers[i]]
    if event.step == 1:
        message["input"] = augmentation.apply(grids[0]).tolist()
    return message


def arc_vote_message(record: dict, *, augmentations: int) -> dict:
    """The vote, from the solver's `{"phase": "vote", ...}` record: the first test input's attempts and
    candidates at the top, every test input's under `tests`."""
    first = record["tests"][0]
    return {"type": "vote", "attempts": first["attempts"], "candidates": first["candidates"], "tests": record["tests"],
            "augmentations": augmentations, "fitted": record["fitted"], "timings": record["timings"]}



def evaluation_message(evaluation: Evaluation) -> dict:
    return {"type": "evaluation", "status": evaluation.status, "phase": evaluation.phase, "done": evaluation.done,
            "total": evaluation.total, "error": evaluation.error}
