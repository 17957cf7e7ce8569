"""Error pages: the API answers JSON even for URLs that match no route; the site answers HTML."""

from django.http import JsonResponse
from django.views.defaults import page_not_found


def not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": f"no API resource at {request.path}"}, status=404)
    return page_not_found(request, exception)
