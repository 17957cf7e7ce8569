"""Checkpoint files served to workers on other machines, by content hash (puzzles/services/checkpoint_transfer.py).

A plain Django view rather than a DRF one: it streams a file of up to several GB, answers only a worker's
credential (no session, no rate limit of the public API) and is left out of the public OpenAPI schema.
Errors answer JSON in the API's shape, as everything under /api/ does.
"""

from django.http import FileResponse, JsonResponse
from django.views.decorators.http import require_GET

from puzzles.services.model_cache import checkpoint_file
from puzzles.models import Checkpoint
from puzzles.services.checkpoint_transfer import CREDENTIAL_SCHEME, credential_is_valid


@require_GET
def checkpoint_file_for_worker(request, digest: str):
    content_hash = f"sha256:{digest}"
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme != CREDENTIAL_SCHEME or not credential_is_valid(content_hash, presented.strip()):
        return JsonResponse({"detail": "checkpoint files are served to this deployment's workers only "
                                       f"(Authorization: {CREDENTIAL_SCHEME} <credential>)"}, status=403)
    checkpoint = Checkpoint.objects.filter(content_hash=content_hash).first()
    if checkpoint is None:
        return JsonResponse({"detail": f"no checkpoint has the content hash {content_hash}"}, status=404)
    file = checkpoint_file(checkpoint.path)
    if not file.is_file():
        return JsonResponse({"detail": f"the web host has no file for checkpoint {checkpoint.name!r}"}, status=404)
    return FileResponse(open(file, "rb"), content_type="application/octet-stream", as_attachment=True,
                        filename=f"{digest}.safetensors")
