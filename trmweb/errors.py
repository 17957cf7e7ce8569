"""Error pages: the API answers JSON even where no view answered (no route, a crash); the site answers HTML."""

from django.http import JsonResponse
from django.views import defaults

from puzzles.api.errors import SERVER_ERROR


def _api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception):
    if _api(request):
        return JsonResponse({"error": f"no API resource at {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    # Django answers this for a request it refuses before any view, e.g. for a Host it does not serve.
    if _api(request):
        return JsonResponse({"error": "bad request: refused as malformed or unsafe before reaching the API "
                                      "(for example, a Host header this server does not serve)"}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request):
    if _api(request):
        return JsonResponse({"error": SERVER_ERROR}, status=500)
    return defaults.server_error(request)
