"""Output shapes of the jobs API, shared by the views that return them."""

from django.urls import reverse
from rest_framework import serializers

from puzzles.models import Checkpoint, SolveJob, Step


class JobOutputSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="puzzle.kind")
    checkpoint = serializers.CharField(source="checkpoint.name")
    url = serializers.SerializerMethodField()
    stream = serializers.SerializerMethodField()
    steps_done = serializers.SerializerMethodField()
    puzzle = serializers.JSONField(source="puzzle.data", read_only=True, help_text="The puzzle as solved (normalised body).")

    class Meta:
        model = SolveJob
        fields = [
            "id", "kind", "status", "checkpoint", "steps_requested", "frames", "steps_done", "error", "result",
            "attempts", "created_at", "started_at", "finished_at", "url", "stream", "puzzle",
        ]

    def get_url(self, job) -> str:
        return reverse("api-job-detail", kwargs={"job_id": job.id})

    def get_stream(self, job) -> str:
        return f"/ws/jobs/{job.id}/"

    def get_steps_done(self, job) -> int:
        return job.steps.count()


class StepOutputSerializer(serializers.ModelSerializer):
    step = serializers.IntegerField(source="number")

    class Meta:
        model = Step
        fields = ["step", "grid", "answers", "confidence", "halt_prob", "q_halt_logit", "seconds", "frames", "created_at"]


class CheckpointOutputSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Checkpoint
        fields = ["name", "kind", "variant", "parameters", "halt_max_steps", "trained", "content_hash", "active", "created_at"]


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
