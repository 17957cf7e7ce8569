from django.contrib import admin

from puzzles.models import Checkpoint, SolveJob, Step


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "variant", "parameters", "halt_max_steps", "trained", "is_active", "created_at"]
    list_filter = ["kind", "is_active", "trained"]
    readonly_fields = ["content_hash", "info", "created_at"]


class StepInline(admin.TabularInline):
    model = Step
    fields = ["number", "halt_prob", "seconds"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SolveJob)
class SolveJobAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "checkpoint", "steps_requested", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "checkpoint__kind"]
    readonly_fields = ["puzzle", "checkpoint", "result", "error", "attempts", "started_at", "finished_at"]
    inlines = [StepInline]
