"""The jobs REST API (`/api/v1/...`): thin views, logic in services."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from puzzles.api.clients import SubmitAnonThrottle, SubmitUserThrottle, client_of
from puzzles.api.pagination import PAGE_PARAMETERS, StrictLimitOffsetPagination
from puzzles.api.serializers import (
    CheckpointOutputSerializer,
    ErrorOutputSerializer,
    JobOutputSerializer,
    FitOptionsInputSerializer,
    JobPageSerializer,
    StepOutputSerializer,
)
from puzzles.api.fields import HaltField
from puzzles.api.schemas import ArcPuzzleField, MazePuzzleField, SudokuPuzzleField
from puzzles.models import PUZZLE_KINDS, Checkpoint, SolveJob
from puzzles.services.puzzle_input import PuzzleBodyError, check_one_solution, parse_puzzle
from puzzles.services.jobs import (
    IdempotencyKeyReused,
    JobFinished,
    NoCheckpoint,
    TooManyActiveJobs,
    job_cancel,
    job_submit,
)
from solver.limits import MAX_SAMPLES, MAX_VIEWS, LimitError, fit_limits

MAX_STEPS_ANY = 32767  # the column's range; each checkpoint's own cap (solver/limits.py) is checked by the service


def _errors(*codes: int) -> dict:
    """Schema entries for the error answers a view can give (all shaped by ErrorOutputSerializer)."""
    return {code: ErrorOutputSerializer for code in codes}


class Conflict(ValidationError):
    status_code = status.HTTP_409_CONFLICT


class Unprocessable(ValidationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def _get_job(job_id) -> SolveJob:
    job = SolveJob.objects.select_related("puzzle", "checkpoint").filter(id=job_id).first()
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


class SubmitInputSerializer(FitOptionsInputSerializer):
    """The submit body, as validated; its documented form is one schema per kind (SUBMIT_BODY)."""

    kind = serializers.ChoiceField(choices=[kind for kind, _label in PUZZLE_KINDS])
    puzzle = serializers.JSONField(help_text="The puzzle body for its kind; see the API description.")
    checkpoint = serializers.CharField(required=False, allow_null=True, max_length=200)
    steps = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_STEPS_ANY,
        help_text="Supervision steps (default: the checkpoint's trained halt_max_steps; up to max(64, 4x that)).")
    frames = serializers.BooleanField(required=False, default=False, help_text="Also stream the answer after each H cycle.")
    samples = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=MAX_SAMPLES,
        help_text="Trajectories per puzzle; all but the first with noise in the latent (Sudoku and maze).")
    views = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=max(MAX_VIEWS.values()),
        help_text="Augmented views per puzzle, answers mapped back and voted (Sudoku up to 16, maze up to 8).")
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2 ** 31 - 1,
                                    help_text="Seed of the sampled trajectories and views.")
    halt = HaltField(required=False, allow_null=True, default=None, help_text=(
        "Stop at the first step whose halting probability passes a threshold: true (0.5) or a number "
        "strictly between 0 and 1; false or null runs every step."))


def _submit_schema(kind: str, puzzle_field, **overrides) -> type:
    """The submit body of one puzzle kind, for the OpenAPI schema only: `kind` fixed, `puzzle` typed."""
    fields = {"kind": serializers.ChoiceField(choices=[kind]),
              "puzzle": puzzle_field(help_text=f"The {kind} puzzle."), **overrides}
    return type(f"{kind.capitalize()}SubmitInput", (SubmitInputSerializer,), {**fields, "__module__": __name__})


def _arc_fit_limits() -> dict:
    limits = fit_limits(settings.TRM_SOLVE_QUEUE)
    return {
        "fit_steps": serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=limits.fit_steps,
                                              help_text="Updates fitting the task's puzzle embedding (0: none)."),
        "augmentations": serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=limits.augmentations,
                                                  help_text="Views of the task (identity included) to fit and vote over."),
    }


def _views_up_to(most: int) -> serializers.IntegerField:
    return serializers.IntegerField(required=False, default=1, min_value=1, max_value=most,
                                    help_text="Augmented views per puzzle, answers mapped back and voted.")


ONE = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1,
                               help_text="1: ARC jobs vote over their fitting augmentations instead.")
SUBMIT_BODY = PolymorphicProxySerializer(
    component_name="SubmitInput",
    serializers={
        "sudoku": _submit_schema("sudoku", SudokuPuzzleField, fit_steps=None, augmentations=None,
                                 views=_views_up_to(MAX_VIEWS["sudoku"])),
        "maze": _submit_schema("maze", MazePuzzleField, fit_steps=None, augmentations=None, views=_views_up_to(MAX_VIEWS["maze"])),
        "arc": _submit_schema("arc", ArcPuzzleField, samples=ONE, views=ONE, **_arc_fit_limits()),
    },
    resource_type_field_name="kind",
)


class JobsApi(APIView):
    """Submit a job (POST) or list your own jobs, newest first (GET)."""

    InputSerializer = SubmitInputSerializer

    def get_throttles(self):
        return [SubmitAnonThrottle(), SubmitUserThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        request=SUBMIT_BODY,
        responses={202: JobOutputSerializer, 200: JobOutputSerializer, **_errors(400, 403, 413, 422, 429)},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, description=(
            "Retrying with the same key and body returns the same job, with or without cookies (a key belongs to "
            "the user, else the client's address); the same key with another body answers 422."))],
    )
    def post(self, request):
        incoming = self.InputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            raise ValidationError({"Idempotency-Key": ["must be at most 200 characters"]})
        try:
            # The page's rules (a Sudoku keeps them and has one solution) hold here, before any row is written.
            check_one_solution(parse_puzzle(data["kind"], data["puzzle"]))
            job, created = job_submit(
                client=client_of(request),
                kind=data["kind"],
                puzzle=data["puzzle"],
                checkpoint_name=data.get("checkpoint"),
                steps=data.get("steps"),
                frames=data["frames"],
                fit_steps=data.get("fit_steps"),
                augmentations=data.get("augmentations"),
                samples=data["samples"],
                views=data["views"],
                seed=data["seed"],
                halt=data["halt"],
                idempotency_key=key,
            )
        except IdempotencyKeyReused as error:
            raise Unprocessable({"Idempotency-Key": [str(error)]}) from None
        except PuzzleBodyError as error:
            raise ValidationError({error.location: [error.message]}) from None
        except NoCheckpoint as error:
            raise ValidationError({"checkpoint": [str(error)]}) from None
        except TooManyActiveJobs as error:
            raise Throttled(detail=str(error)) from None
        except LimitError as error:
            raise ValidationError({error.field: [error.reason]}) from None
        except ValueError as error:
            raise ValidationError({"steps": [str(error)]}) from None
        job.refresh_from_db()
        headers = {} if created else {"Idempotent-Replayed": "true"}
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(JobOutputSerializer(job).data, status=code, headers=headers)

    @extend_schema(operation_id="jobs_list", responses={200: JobPageSerializer, **_errors(400)},
                   parameters=PAGE_PARAMETERS)
    def get(self, request):
        jobs = SolveJob.objects.filter(owner_key=client_of(request).owner_key).select_related("puzzle", "checkpoint")
        paginator = StrictLimitOffsetPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)


class JobDetailApi(APIView):
    """A job's state, timings and result: readable by whoever holds its (unguessable) id."""

    @extend_schema(responses={200: JobOutputSerializer, **_errors(404)})
    def get(self, request, job_id):
        return Response(JobOutputSerializer(_get_job(job_id)).data)


class JobStepsApi(APIView):
    """Every saved step of a job, in order."""

    @extend_schema(responses={200: StepOutputSerializer(many=True), **_errors(404)})
    def get(self, request, job_id):
        job = _get_job(job_id)
        return Response(StepOutputSerializer(job.steps.order_by("number"), many=True).data)


class JobCancelApi(APIView):
    """Cancel one of your own jobs; a running job stops before its next step."""

    @extend_schema(request=None, responses={200: JobOutputSerializer, **_errors(403, 404, 409)})
    def post(self, request, job_id):
        job = _get_job(job_id)
        if job.owner_key != client_of(request).owner_key:
            raise PermissionDenied("only the client that submitted a job can cancel it")
        try:
            job = job_cancel(job=job)
        except JobFinished as error:
            raise Conflict({"status": [str(error)]}) from None
        return Response(JobOutputSerializer(job).data)


class CheckpointsApi(APIView):
    """The checkpoints jobs can name; `active` marks each kind's default."""

    @extend_schema(responses=CheckpointOutputSerializer(many=True))
    def get(self, request):
        return Response(CheckpointOutputSerializer(Checkpoint.objects.all(), many=True).data)
