"""The jobs REST API (`/api/v1/jobs/...`): one view per operation, logic in services."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from puzzles.api.serializers import JobOutputSerializer, StepOutputSerializer
from puzzles.models import PUZZLE_KINDS, SolveJob
from puzzles.puzzle_input import PuzzleBodyError
from puzzles.services.jobs import NoCheckpoint, job_submit


def _get_job(job_id) -> SolveJob:
    job = SolveJob.objects.select_related("puzzle", "checkpoint").filter(id=job_id).first()
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


class JobSubmitApi(APIView):
    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[kind for kind, _label in PUZZLE_KINDS])
        puzzle = serializers.JSONField(help_text="The puzzle body for its kind; see the API description.")
        checkpoint = serializers.CharField(required=False, allow_null=True, max_length=200)
        steps = serializers.IntegerField(required=False, allow_null=True, min_value=1)

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer})
    def post(self, request):
        incoming = self.InputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        try:
            job = job_submit(
                kind=data["kind"], puzzle=data["puzzle"], checkpoint_name=data.get("checkpoint"), steps=data.get("steps")
            )
        except PuzzleBodyError as error:
            raise ValidationError({error.location: [error.message]}) from None
        except NoCheckpoint as error:
            raise ValidationError({"checkpoint": [str(error)]}) from None
        except ValueError as error:
            raise ValidationError({"steps": [str(error)]}) from None
        job.refresh_from_db()  # the enqueue may already have failed it
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer)
    def get(self, request, job_id):
        return Response(JobOutputSerializer(_get_job(job_id)).data)


class JobStepsApi(APIView):
    @extend_schema(responses=StepOutputSerializer(many=True))
    def get(self, request, job_id):
        job = _get_job(job_id)
        return Response(StepOutputSerializer(job.steps.order_by("number"), many=True).data)
