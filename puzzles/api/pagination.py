"""Limit/offset pagination that refuses a malformed `limit` or `offset` instead of ignoring it."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    max_limit = 200

    def paginate_queryset(self, queryset, request, view=None):
        for name in (self.limit_query_param, self.offset_query_param):
            values = request.query_params.getlist(name)
            if len(values) > 1 or (values and not values[0].isdigit()):
                raise ValidationError({name: [f"must be one whole number of 0 or more, not {', '.join(values)!r}"]})
        return super().paginate_queryset(queryset, request, view)


# The query parameters of a paginated list, as the OpenAPI schema states them.
PAGE_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 0}, description=(
        f"Results per page, up to {StrictLimitOffsetPagination.max_limit} (more reads as that many; 0 or none: the "
        "default page size).")),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0}, description="Results to skip."),
]
