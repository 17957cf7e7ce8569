"""The form staff fill to evaluate a checkpoint: which checkpoint, which set, how many puzzles.

The checks that need the checkpoint and the set are the service's (services/evaluation_runs.py); their
refusals come back here as errors on the field at fault.
"""

from django import forms
from django.conf import settings

from puzzles.models import Checkpoint
from puzzles.services.evaluation_runs import MAX_BATCH_SIZE, EvaluationRefused, built_datasets, evaluation_create, generated_set


class EvaluationForm(forms.Form):
    checkpoint = forms.ModelChoiceField(queryset=Checkpoint.objects.order_by("kind", "name"))
    source = forms.ChoiceField(choices=[("generated", "generate a set on the worker"),
                                        ("built", "a dataset built on the server")], initial="generated",
                               widget=forms.RadioSelect)
    dataset_name = forms.ChoiceField(required=False, label="built dataset")
    limit = forms.IntegerField(required=False, min_value=1, label="at most (puzzles)",
                               help_text="A built dataset: evaluate its first N test puzzles (empty: all of them).")
    count = forms.IntegerField(min_value=1, initial=200, label="puzzles to generate")
    bands = forms.CharField(required=False, initial="0,1-3,4-", label="Sudoku difficulty bands",
                            help_text="Guesses a backtracking solver needs, taken in turn: e.g. 0,1-3,4-")
    sizes = forms.CharField(required=False, initial="", label="maze sizes",
                            help_text="Sides taken in turn, e.g. 5,7,9 (empty: the checkpoint's field).")
    seed = forms.IntegerField(min_value=0, initial=1, help_text="The same seed and description, the same puzzles.")
    batch_size = forms.IntegerField(min_value=1, max_value=MAX_BATCH_SIZE, initial=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datasets = built_datasets()
        self.fields["dataset_name"].choices = [("", "—")] + [(d.name, d.describe()) for d in self.datasets]
        self.fields["count"].max_value = settings.TRM_EVALUATION_MAX_PUZZLES
        self.fields["count"].widget.attrs["max"] = settings.TRM_EVALUATION_MAX_PUZZLES

    def save(self, *, requested_by):
        """The evaluation, queued; None with the refusal added to the form's errors."""
        data = self.cleaned_data
        checkpoint = data["checkpoint"]
        try:
            if data["source"] == "built":
                if not data["dataset_name"]:
                    raise EvaluationRefused("dataset_name", f"choose a dataset (folders of {settings.TRM_DATASETS_DIR})")
                return evaluation_create(checkpoint=checkpoint, dataset_name=data["dataset_name"], limit=data["limit"],
                                         batch_size=data["batch_size"], requested_by=requested_by)
            spec = generated_set(checkpoint, count=data["count"], seed=data["seed"], bands=data["bands"],
                                 sizes=data["sizes"])
            return evaluation_create(checkpoint=checkpoint, generated=spec, batch_size=data["batch_size"],
                                     requested_by=requested_by)
        except EvaluationRefused as refusal:
            self.add_error(refusal.field if refusal.field in self.fields else None, str(refusal))
            return None
