"""Output shapes of the jobs API, shared by the views that return them."""

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from puzzles.api.schemas import (
    JobResultField,
    SavedPuzzleField,
    StepAnswersField,
    StepConfidenceField,
    StepFramesField,
    StepGridField,
    StepTrajectoriesField,
)
from puzzles.models import Checkpoint, SolveJob, Step
from puzzles.selectors import job_queue_position
from solver.limits import BudgetError, fit_budget


class JobOutputSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="puzzle.kind")
    checkpoint = serializers.CharField(source="checkpoint.name")
    url = serializers.SerializerMethodField()
    stream = serializers.SerializerMethodField()
    steps_done = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField(
        help_text="While queued: its place in line (1: next to run); null once it has left the queue.")
    puzzle = SavedPuzzleField(source="puzzle.data", read_only=True)
    result = JobResultField(read_only=True)

    class Meta:
        model = SolveJob
        fields = [
            "id", "kind", "status", "checkpoint", "steps_requested", "frames", "steps_done", "error", "result",
            "attempts", "created_at", "started_at", "finished_at", "url", "stream", "puzzle", "fit_steps", "augmentations",
            "queue_position", "samples", "views", "seed", "halt_threshold",
        ]

    def get_url(self, job) -> str:
        return reverse("api-job-detail", kwargs={"job_id": job.id})

    def get_stream(self, job) -> str:
        return f"/ws/jobs/{job.id}/"

    def get_steps_done(self, job) -> int:
        return job.steps.count()

    def get_queue_position(self, job) -> int | None:
        return job_queue_position(job=job)


class FitOptionsInputSerializer(serializers.Serializer):
    """The ARC test-time fitting options of a submission, within the limits of the solve queue's device."""

    fit_steps = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="ARC: updates fitting the task's puzzle embedding (0: none; default and limit depend on the device).")
    augmentations = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="ARC: views of the task (identity included) to fit and vote over (default and limit depend on the device).")

    def _within_budget(self, name: str, value):
        if value is not None:
            try:
                fit_budget(settings.TRM_SOLVE_QUEUE, **{name: value})
            except BudgetError as error:
                raise serializers.ValidationError(str(error)) from None
        return value

    def validate_fit_steps(self, value):
        return self._within_budget("fit_steps", value)

    def validate_augmentations(self, value):
        return self._within_budget("augmentations", value)

    def validate(self, data):
        asked = [name for name in ("fit_steps", "augmentations") if data.get(name) is not None]
        if asked and data.get("kind") != "arc":
            raise serializers.ValidationError({name: [f"only ARC jobs are fitted; leave it out for a {data.get('kind')} job"]
                                               for name in asked})
        return data


class StepOutputSerializer(serializers.ModelSerializer):
    step = serializers.IntegerField(source="number", min_value=1, help_text="1-based supervision step.")
    grid = StepGridField()
    answers = StepAnswersField()
    confidence = StepConfidenceField()
    frames = StepFramesField()
    trajectories = StepTrajectoriesField()

    class Meta:
        model = Step
        fields = ["step", "grid", "answers", "confidence", "halt_prob", "q_halt_logit", "seconds", "frames", "created_at",
                  "trajectories", "chosen", "agreeing"]


class CheckpointOutputSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Checkpoint
        fields = ["name", "kind", "variant", "parameters", "halt_max_steps", "trained", "content_hash", "active", "created_at",
                  "maze_field", "arc_canvas"]


class ErrorOutputSerializer(serializers.Serializer):
    """Every error answer: one line, and for invalid input where (JSON path) and what."""

    error = serializers.CharField()
    detail = serializers.DictField(required=False)


class JobPageSerializer(serializers.Serializer):
    """One page of a job list (limit/offset pagination)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobOutputSerializer(many=True)
