"""Every API error as JSON: `{"error": "<one line>", "detail": {<where>: [<what>]}}`."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("django.request")

SERVER_ERROR = "internal server error: the server failed to answer this request; it was logged, please try again later"


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            return f"{key}: {_first_message(value)}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def json_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"error": f"the request body is larger than {limit:,} bytes, the most the API accepts"},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, OperationalError):
        # The database is down or every pooled connection stayed busy past the pool's timeout. The request's
        # transaction did not commit, so nothing of it was saved: the client may simply send it again.
        return Response({"error": "the database is busy or unreachable; nothing was saved, try again shortly"},
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    response = exception_handler(exc, context)
    if response is None:
        # A bug: the traceback goes to the log, where Django's own handler would have put it, and never to
        # the client, which gets no server paths or code, only that it was not its fault.
        logger.error("Internal Server Error: %s", context["request"].path, exc_info=exc)
        return Response({"error": SERVER_ERROR}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        response.data = {"error": str(detail["detail"])}
    else:
        response.data = {"error": _first_message(detail), "detail": detail}
    return response
