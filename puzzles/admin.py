import json
from pathlib import Path

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as confirm_and_delete_selected
from django.contrib.admin.helpers import AdminForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from puzzles.services.checkpoint_upload import (
    CHUNK_BYTES,
    CHUNK_MAX_BYTES,
    CheckpointUploadForm,
    CheckpointUploadHandler,
    ChunkedUpload,
    UploadRefused,
)
from puzzles.models import Checkpoint, SolveJob, Step
from puzzles.services.training_curve import training_curve_svg
from puzzles.services.checkpoints import (
    checkpoint_activate,
    checkpoint_delete,
    checkpoint_delete_refusal,
    checkpoint_max_bytes,
    checkpoint_upload,
    checkpoint_upload_refusal,
)


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    """Checkpoints are added by uploading a file, which is checked before it is kept; only the name can be
    changed afterwards. Activating and deleting go through the services, which keep one active checkpoint
    per kind and refuse to delete one that is active or that jobs ran with."""

    list_display = ["name", "kind", "variant", "parameter_count", "halt_max_steps", "trained", "is_active",
                    "short_hash", "created_at"]
    list_filter = ["kind", "is_active", "trained"]
    search_fields = ["name", "content_hash"]
    actions = ["activate_selected", "delete_selected"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "is_active", "variant", "parameters", "halt_max_steps", "training_steps",
                           "trained", "content_hash", "path", "created_at"]}),
        ("Held-out results", {"fields": ["held_out_results", "evaluations_in_the_app"]}),
        ("Training", {"fields": ["training_curve"]}),
        ("What the solver reports", {"fields": ["provenance", "info_json"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["kind", "is_active", "variant", "parameters", "halt_max_steps", "training_steps", "trained",
                       "content_hash", "path", "created_at", "held_out_results", "evaluations_in_the_app",
                       "training_curve", "provenance",
                       "info_json"]

    # ------------------------------------------------------------------------------------ display

    @admin.display(description="parameters", ordering="parameters")
    def parameter_count(self, checkpoint: Checkpoint) -> str:
        return f"{checkpoint.parameters:,}"

    @admin.display(description="content hash")
    def short_hash(self, checkpoint: Checkpoint) -> str:
        return checkpoint.content_hash.removeprefix("sha256:")[:12]

    @admin.display(description="training steps")
    def training_steps(self, checkpoint: Checkpoint):
        return checkpoint.info.get("steps")

    @admin.display(description="held-out figures")
    def held_out_results(self, checkpoint: Checkpoint) -> str:
        evaluation = (checkpoint.info.get("provenance") or {}).get("evaluation")
        if not evaluation:
            return "none recorded with this checkpoint"
        return _pretty_json(evaluation)

    @admin.display(description="evaluations in the app")
    def evaluations_in_the_app(self, checkpoint: Checkpoint) -> str:
        """The evaluations staff ran on this checkpoint (puzzles/evaluation_views.py), newest first."""
        rows = format_html_join(
            "", '<li><a href="{}">{}</a>: {} ({})</li>',
            ((reverse("evaluation-page", args=[e.id]), e.set_description, e.result_summary or e.status,
              e.created_at.strftime("%Y-%m-%d %H:%M")) for e in checkpoint.evaluations.order_by("-created_at")[:20]))
        evaluate = format_html('<a href="{}?checkpoint={}">Evaluate it on a set</a>', reverse("evaluations-page"),
                               checkpoint.pk)
        return format_html("<ul>{}</ul>{}", rows, evaluate) if rows else evaluate

    @admin.display(description="training curve")
    def training_curve(self, checkpoint: Checkpoint) -> str:
        curve = (checkpoint.info.get("provenance") or {}).get("training_curve") or []
        svg = training_curve_svg(curve)
        if not svg:
            return "none recorded with this checkpoint (its training did not write metrics.jsonl)"
        return mark_safe(svg)  # numbers only: training_curve_svg writes no text from the checkpoint

    @admin.display(description="provenance")
    def provenance(self, checkpoint: Checkpoint) -> str:
        return _pretty_json(checkpoint.info.get("provenance") or {})

    @admin.display(description="python -m solver info")
    def info_json(self, checkpoint: Checkpoint) -> str:
        return _pretty_json(checkpoint.info)

    # ------------------------------------------------------------------------------------ urls

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        own = [
            # csrf_exempt only lets the upload handler be chosen before the body is parsed; upload_view is
            # CSRF-protected itself.
            path("add/", self.admin_site.admin_view(csrf_exempt(self.upload_entry)), name="%s_%s_add" % info),
            path("upload/start/", self.admin_site.admin_view(require_POST(self.upload_start_view)),
                 name="%s_%s_upload_start" % info),
            path("upload/chunk/", self.admin_site.admin_view(require_POST(self.upload_chunk_view)),
                 name="%s_%s_upload_chunk" % info),
            path("<path:object_id>/activate/", self.admin_site.admin_view(require_POST(self.activate_view)),
                 name="%s_%s_activate" % info),
        ]
        stock = [url for url in super().get_urls() if url.name != "%s_%s_add" % info]
        return own + stock

    # ------------------------------------------------------------------------------------ upload

    def upload_entry(self, request: HttpRequest) -> HttpResponse:
        """The CSRF check reads request.POST, which parses the upload: the handler that streams it to disk
        under a size cap must be in place before that."""
        handler = CheckpointUploadHandler(request)
        request.upload_handlers = [handler]
        return csrf_protect(self.upload_view)(request, handler)

    def upload_view(self, request: HttpRequest, handler: CheckpointUploadHandler) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = CheckpointUploadForm(request.POST, request.FILES, refused=handler.refused)
            if form.is_valid():
                data = form.cleaned_data
                file, config = data["checkpoint"], data["config"]
                staged = None
                try:
                    if data["upload_id"]:
                        chunked = ChunkedUpload.get(data["upload_id"], owner_id=request.user.pk)
                        upload_name, staged = chunked.file_name, chunked.claim()
                    else:
                        upload_name = file.name
                    checkpoint = checkpoint_upload(
                        name=data["name"],
                        upload=staged or _on_disk(file),
                        upload_name=upload_name,
                        config_yaml=_on_disk(config) if config else None,
                        config_name=config.name if config else "all_config.yaml",
                        kind=data["kind"] or None,
                        activate=data["activate"],
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                except UploadRefused as refused:
                    form.add_error(None, refused.message)
                else:
                    self.log_addition(request, checkpoint, [{"added": {}}])
                    self.message_user(request, f"Accepted {checkpoint.name}: a {checkpoint.kind} checkpoint, "
                                               f"{checkpoint.variant}, {checkpoint.parameters:,} parameters, "
                                               f"{checkpoint.content_hash}"
                                               + (", now active." if checkpoint.is_active else "."),
                                      messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:puzzles_checkpoint_change", args=[checkpoint.pk]))
                finally:
                    if staged is not None:  # what checkpoint_upload did not keep (a streamed file deletes itself)
                        staged.unlink(missing_ok=True)
        else:
            form = CheckpointUploadForm()
        info = self.opts.app_label, self.opts.model_name
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload a checkpoint",
            "opts": self.opts,
            "adminform": AdminForm(form, [(None, {"fields": [f for f in form.fields if f != "upload_id"]})], {}),
            "errors": form.errors,
            "max_bytes": checkpoint_max_bytes(),
            "chunk_bytes": CHUNK_BYTES,
            "start_url": reverse("admin:%s_%s_upload_start" % info),
            "chunk_url": reverse("admin:%s_%s_upload_chunk" % info),
            "kept_upload": _kept_upload(request),
        }
        return TemplateResponse(request, "admin/puzzles/checkpoint/upload.html", context)

    def upload_start_view(self, request: HttpRequest) -> JsonResponse:
        """Begin a chunked upload: POST name, file_name and size (bytes) of the checkpoint to send.

        Refuses at once what checkpoint_upload would refuse whatever the file holds (too large, name taken),
        so that no gigabytes are sent in vain. Answers the upload id and the largest chunk accepted.
        """
        try:
            if not self.has_add_permission(request):
                raise UploadRefused("you may not add checkpoints", status=403)
            try:
                name = CheckpointUploadForm.base_fields["name"].clean(request.POST.get("name", ""))
            except ValidationError as error:
                raise UploadRefused(f"Name: {' '.join(error.messages)}") from None
            file_name = Path(request.POST.get("file_name", "")).name[:255]
            size = _whole_number(request.POST.get("size"), "size")
            if not file_name:
                raise UploadRefused("file_name is missing: the name of the checkpoint file on your machine")
            refusal = checkpoint_upload_refusal(name=name, upload_name=file_name, size=size)
            if refusal:
                raise UploadRefused(refusal, status=409 if size <= checkpoint_max_bytes() else 413)
            upload = ChunkedUpload.start(owner_id=request.user.pk, size=size, file_name=file_name)
        except UploadRefused as refused:
            return _refusal(refused)
        return JsonResponse({"upload_id": upload.id, "received": 0, "max_chunk_bytes": CHUNK_MAX_BYTES}, status=201)

    def upload_chunk_view(self, request: HttpRequest) -> JsonResponse:
        """Append a chunk to a chunked upload: POST ?upload_id=...&offset=N with the bytes as the raw body
        (application/octet-stream, at most CHUNK_MAX_BYTES), CSRF token in X-CSRFToken. Answers the bytes
        received so far; a chunk at the wrong offset is refused with 409 and the offset to send instead."""
        try:
            if not self.has_add_permission(request):
                raise UploadRefused("you may not add checkpoints", status=403)
            upload = ChunkedUpload.get(request.GET.get("upload_id", ""), owner_id=request.user.pk)
            offset = _whole_number(request.GET.get("offset"), "offset")
            length = _whole_number(request.META.get("CONTENT_LENGTH"), "Content-Length")
            # request.read, not request.body: the body is copied to the file a block at a time.
            received = upload.append(request, offset=offset, length=length)
        except UploadRefused as refused:
            return _refusal(refused)
        return JsonResponse({"received": received, "size": upload.size})

    # ------------------------------------------------------------------------------------ activate

    @admin.action(description="Activate (the default for new jobs of its kind)", permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset) -> None:
        chosen: dict[str, list[Checkpoint]] = {}
        for checkpoint in queryset:
            chosen.setdefault(checkpoint.kind, []).append(checkpoint)
        several = {kind: names for kind, names in chosen.items() if len(names) > 1}
        if several:
            for kind, checkpoints in several.items():
                self.message_user(request, f"Only one checkpoint per kind can be active; you chose {len(checkpoints)} "
                                           f"{kind} checkpoints ({', '.join(c.name for c in checkpoints)}). "
                                           "Nothing was activated.", messages.ERROR)
            return
        with transaction.atomic():
            for checkpoints in chosen.values():
                checkpoint_activate(checkpoint=checkpoints[0])
        for kind, checkpoints in chosen.items():
            self.message_user(request, f"{checkpoints[0].name} is now the active {kind} checkpoint.", messages.SUCCESS)

    def activate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        checkpoint = self.get_object(request, unquote(object_id))
        if checkpoint is None:
            raise Http404(f"no checkpoint with id {object_id}")
        if not self.has_change_permission(request, checkpoint):
            raise PermissionDenied
        checkpoint_activate(checkpoint=checkpoint)
        self.message_user(request, f"{checkpoint.name} is now the active {checkpoint.kind} checkpoint.",
                          messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:puzzles_checkpoint_change", args=[checkpoint.pk]))

    # ------------------------------------------------------------------------------------ delete

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None) -> HttpResponse:
        checkpoint = self.get_object(request, unquote(object_id))
        refusal = checkpoint and checkpoint_delete_refusal(checkpoint=checkpoint)
        try:
            if not refusal:
                return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:  # it became active or used between the check and the delete
            refusal = " ".join(error.messages)
        self.message_user(request, refusal, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:puzzles_checkpoint_change", args=[checkpoint.pk]))

    def delete_model(self, request: HttpRequest, obj: Checkpoint) -> None:
        checkpoint_delete(checkpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        with transaction.atomic():  # all of them or none
            for checkpoint in queryset:
                checkpoint_delete(checkpoint=checkpoint)

    @admin.action(description="Delete selected checkpoints", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset):
        """Django's confirm-then-delete, refused with reasons when any chosen checkpoint is active or used."""
        refusals = [reason for checkpoint in queryset if (reason := checkpoint_delete_refusal(checkpoint=checkpoint))]
        try:
            if not refusals:
                with transaction.atomic():  # the deletion log goes with the deletions
                    return confirm_and_delete_selected(self, request, queryset)
        except ValidationError as error:
            refusals = error.messages
        for reason in refusals:
            self.message_user(request, reason, messages.ERROR)
        self.message_user(request, "Nothing was deleted.", messages.WARNING)
        return None


def _pretty_json(value) -> str:
    return format_html('<pre style="margin: 0; white-space: pre-wrap">{}</pre>',
                       json.dumps(value, indent=2, sort_keys=True, default=str))


def _kept_upload(request: HttpRequest) -> ChunkedUpload | None:
    """The chunked upload the form named, when it is still there: the form came back for its other fields,
    and sending it again with the upload's id spares sending the checkpoint again."""
    if request.method != "POST" or not request.POST.get("upload_id"):
        return None
    try:
        return ChunkedUpload.get(request.POST["upload_id"], owner_id=request.user.pk)
    except UploadRefused:
        return None


def _whole_number(text: str | None, name: str) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise UploadRefused(f"{name} must be a whole number of bytes, not {text!r}") from None
    if value < 0:
        raise UploadRefused(f"{name} must be a whole number of bytes, not {text!r}")
    return value


def _refusal(refused: UploadRefused) -> JsonResponse:
    answer = {"error": refused.message}
    if refused.received is not None:
        answer["received"] = refused.received
    return JsonResponse(answer, status=refused.status)


def _on_disk(upload) -> Path:
    """Where the upload handler streamed an uploaded file."""
    return Path(upload.temporary_file_path())


class StepInline(admin.TabularInline):
    model = Step
    fields = ["number", "halt_prob", "seconds"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SolveJob)
class SolveJobAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "checkpoint", "steps_requested", "attempts", "worker", "created_at", "finished_at"]
    list_filter = ["status", "checkpoint__kind"]
    search_fields = ["id", "owner_key"]
    readonly_fields = [
        "puzzle", "checkpoint", "steps_requested", "frames", "owner", "owner_key", "client_ip", "idempotency_key",
        "result", "error", "attempts", "worker", "enqueued_at", "heartbeat_at", "started_at", "finished_at",
    ]
    inlines = [StepInline]
