"""What the playground records: checkpoints, puzzles, solve jobs and every step of a solve.

The database is the record of a solve: steps are saved before they are published, so a viewer who
connects late and the REST API both read the same complete history.
"""

import uuid

from django.conf import settings
from django.db import models

from puzzles.services.evaluation_measures import final_measure
from solver.codecs import CANVAS, maze_field

PUZZLE_KINDS = [("sudoku", "Sudoku"), ("maze", "Maze"), ("arc", "ARC-AGI")]


class Checkpoint(models.Model):
    """A set of TRM weights in the project's format, one of which is active per puzzle kind."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=PUZZLE_KINDS)
    path = models.CharField(max_length=500, help_text="The .safetensors file, absolute or relative to the project.")
    content_hash = models.CharField(max_length=80)
    variant = models.CharField(max_length=40, blank=True)
    parameters = models.BigIntegerField(default=0)
    halt_max_steps = models.PositiveSmallIntegerField(default=16)
    trained = models.BooleanField(default=True, help_text="False for randomly initialised weights.")
    info = models.JSONField(default=dict, blank=True, help_text="What `python -m solver info` reports.")
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=models.Q(is_active=True), name="one_active_checkpoint_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def seq_len(self) -> int | None:
        """Answer positions of the model (from `info`); a maze model's field is its square root."""
        value = (self.info or {}).get("config", {}).get("seq_len")
        return int(value) if value is not None else None

    @property
    def maze_field(self) -> int | None:
        """The side of the largest maze the model takes (30 but for a model trained on a smaller field)."""
        if self.kind != "maze":
            return None
        return maze_field(self.seq_len) if self.seq_len else CANVAS

    @property
    def arc_canvas(self) -> int | None:
        """The side of the largest ARC grid the model takes (30 but for a model trained on a smaller canvas)."""
        if self.kind != "arc":
            return None
        return maze_field(self.seq_len) if self.seq_len else CANVAS


class Puzzle(models.Model):
    """A puzzle as submitted, normalised to the canonical grid forms of the solver's codecs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=PUZZLE_KINDS)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)


class SolveJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    # uuid4: a job's page and stream are readable by whoever holds the id, so ids must not be guessable.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    puzzle = models.ForeignKey(Puzzle, on_delete=models.CASCADE, related_name="jobs")
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="jobs")
    steps_requested = models.PositiveSmallIntegerField()
    frames = models.BooleanField(default=False, help_text="Also record the answer after each H cycle.")
    fit_steps = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="ARC: puzzle-embedding fitting updates asked for (empty: the device's default).",
    )
    augmentations = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="ARC: views of the task to fit and vote over (empty: the device's default).",
    )
    # Test-time compute (solver/thinking.py, solver/limits.py): 1 and 1 are the exact single trajectory.
    samples = models.PositiveSmallIntegerField(default=1, help_text="Trajectories per puzzle, all but one with noise in the latent.")
    views = models.PositiveSmallIntegerField(default=1, help_text="Augmented views per puzzle, answers mapped back and voted.")
    seed = models.PositiveIntegerField(default=0, help_text="Seed of the sampled trajectories and views: the same seed, the same answer.")
    halt_threshold = models.FloatField(
        null=True, blank=True,
        help_text="Stop at the first step whose halting probability passes it (empty: run every step).",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="solve_jobs")
    owner_key = models.CharField(max_length=80, db_index=True, help_text="user:<id> or session:<key>: whose job it is.")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    # A key is the client's (puzzles/client_identity.py: the user, else the address), not the browser
    # session's: a script without cookies has a new session on every request.
    idempotency_scope = models.CharField(max_length=80, blank=True, help_text="user:<id> or address:<ip>: whose key it is.")
    request_digest = models.CharField(
        max_length=64, blank=True,
        help_text="sha256 of the submit as read: a key reused for another body is refused.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="When its message last went to the queue.")
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the worker running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of its worker.")
    result = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                name="one_job_per_client_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class Step(models.Model):
    """One supervision step of a solve: the answer after it, and how sure the model was."""

    job = models.ForeignKey(SolveJob, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField(help_text="1-based supervision step.")
    grid = models.JSONField(help_text="The answer to the (first) test input after this step.")
    answers = models.JSONField(default=list, help_text="The answers to every test input (ARC may have several).")
    confidence = models.JSONField(help_text="Probability of the chosen symbol, per cell of the grid.")
    halt_prob = models.FloatField()
    q_halt_logit = models.FloatField()
    seconds = models.FloatField(help_text="Compute time of this step.")
    frames = models.JSONField(default=list, blank=True, help_text="The answer after each H cycle, when asked for.")
    trajectories = models.JSONField(
        default=list, blank=True,
        help_text="With samples or views: each trajectory's answer (mapped back) and halting head at this step.",
    )
    chosen = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Index of the trajectory whose answer is `grid`.")
    agreeing = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Trajectories whose answer is `grid`.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="one_row_per_step")]


class JobEvent(models.Model):
    """A message of a job's stream other than a step or the status: an ARC job's fitting progress, its
    augmented solves and its vote (see puzzles/messages.py). Saved before it is published, like steps."""

    job = models.ForeignKey(SolveJob, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField(help_text="1-based order of the event within the job.")
    key = models.CharField(max_length=40, help_text="What the event is about (e.g. fit:12): a job run again saves each once.")
    after_step = models.PositiveSmallIntegerField(help_text="Steps saved before it: it is replayed after that step.")
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="one_event_per_seq"),
            models.UniqueConstraint(fields=["job", "key"], name="one_event_per_key"),
        ]


class Evaluation(models.Model):
    """A checkpoint's held-out figures on a set of puzzles, computed by a worker (`python -m solver evaluate`'s
    figures: accuracy after each step, where the halting head would stop, by band / size / family).

    The set is a dataset built on the server (`dataset_name`, a folder of TRM_DATASETS_DIR) or generated by the
    worker from `generated` (kind, count, bands or sizes, seed): the same description, the same puzzles, so two
    evaluations with the same `set_key` can be set side by side.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    FINISHED = (Status.DONE, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.CASCADE, related_name="evaluations")
    dataset_name = models.CharField(max_length=200, blank=True, help_text="A built dataset: its folder in TRM_DATASETS_DIR.")
    generated = models.JSONField(default=dict, blank=True, help_text="A set generated by the worker: kind, count, bands or sizes, seed.")
    set_key = models.CharField(max_length=300, db_index=True, help_text="What set was evaluated, for side-by-side comparison.")
    limit = models.PositiveIntegerField(help_text="Puzzles evaluated at most (in the set's order).")
    batch_size = models.PositiveSmallIntegerField(default=64)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="evaluations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=40, blank=True, help_text="What the worker is doing: generating, evaluating.")
    done = models.PositiveIntegerField(default=0, help_text="Puzzles evaluated so far.")
    total = models.PositiveIntegerField(default=0, help_text="Puzzles to evaluate (known once the set is ready).")
    figures = models.JSONField(null=True, blank=True, help_text="What `python -m solver evaluate --json` prints.")
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of its worker.")
    enqueued_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When its message was last sent to the workers' queue.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def result_summary(self) -> str:
        """The figure that matters for the kind, after the last step: e.g. "exact accuracy 72.8%"."""
        figures = self.figures or {}
        key, name = final_measure(figures)
        value = figures.get(key)
        return f"{name} {100 * value:.1f}%" if isinstance(value, (int, float)) else ""

    @property
    def set_description(self) -> str:
        if self.dataset_name:
            return f"{self.dataset_name} (built)"
        spec = self.generated or {}
        detail = f"bands {spec.get('bands')}" if spec.get("kind") == "sudoku" else f"sizes {spec.get('sizes')}"
        return f"{spec.get('count')} generated {spec.get('kind')} puzzles, {detail}, seed {spec.get('seed')}"
