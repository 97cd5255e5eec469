"""The form that starts a custom querygen run. It checks only what a form can (types, ranges
of a field); submit_run() is the judge of the rest, and its AssayError is shown on the form."""

from __future__ import annotations

from typing import Any

from django import forms

from core.models import Engine
from querygen.models import Group, OracleKind


class RunForm(forms.Form):
    sut = forms.ModelChoiceField(
        queryset=Engine.objects.order_by("name"),
        to_field_name="name",
        label="System under test",
        empty_label=None,
    )
    reference = forms.ModelChoiceField(
        queryset=Engine.objects.order_by("name"),
        to_field_name="name",
        required=False,
        empty_label="(none: TLP and NoREC test one engine)",
        help_text="Required by the differential oracle.",
    )
    oracle = forms.ChoiceField(choices=OracleKind.choices, initial=OracleKind.DIFFERENTIAL)
    sut_python = forms.CharField(
        required=False,
        max_length=500,
        label="Private build interpreter",
        help_text="The python of another virtualenv whose sqlite3 or duckdb module runs the "
        "system under test. Empty: this one.",
    )
    budget_queries = forms.IntegerField(required=False, min_value=1, label="Budget: queries")
    budget_minutes = forms.FloatField(
        required=False, min_value=0.02, label="Budget: minutes", help_text="Either budget, or both."
    )
    timeout = forms.FloatField(
        initial=2.0, min_value=0.01, label="Timeout", help_text="Seconds per query and engine."
    )
    seed = forms.IntegerField(
        required=False, min_value=0, help_text="Empty: a random seed, shown on the run's page."
    )
    profile = forms.JSONField(
        required=False,
        initial=dict,  # shown as {}: the defaults, a valid value (None would show as null)
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60, "spellcheck": "false"}),
        help_text="Query profile settings over the defaults, as a JSON object.",
    )
    label = forms.CharField(required=False, max_length=100)

    def clean_profile(self) -> dict:
        value = self.cleaned_data.get("profile")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("The profile is a JSON object: {...}.")
        return value

    def run_options(self) -> dict[str, Any]:
        """The cleaned form as submit_run's keyword arguments."""
        data = self.cleaned_data
        minutes = data.get("budget_minutes")
        return {
            "sut": data["sut"],
            "reference": data.get("reference"),
            "oracle": data["oracle"],
            "sut_python": data.get("sut_python") or "",
            "profile": data.get("profile") or {},
            "budget_queries": data.get("budget_queries"),
            # The run counts whole seconds; a fraction of a minute still buys at least one.
            "budget_seconds": None if minutes is None else max(1, round(minutes * 60)),
            "timeout": data["timeout"],
            "seed": data.get("seed"),
            "label": data.get("label") or "",
        }


class StatusForm(forms.Form):
    """Mark a group: set_status checks the combination (known needs a link)."""

    status = forms.CharField(max_length=10)
    link = forms.CharField(required=False, max_length=500)
    note = forms.CharField(required=False, max_length=5000)


class ReplayForm(forms.Form):
    sample = forms.IntegerField(min_value=1)
    which = forms.ChoiceField(choices=[("reduced", "reduced"), ("original", "original")])


class GroupIdsField(forms.Field):
    """The ids of the groups ticked in a list (several values of one name)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("Groups are selected by their numbers.") from None


class BulkForm(forms.Form):
    """The group list's actions: bulk_action is the judge of the combination (an action it
    knows, a link for known, two groups or more to merge)."""

    ids = GroupIdsField(required=False)
    action = forms.CharField(max_length=20)
    link = forms.CharField(required=False, max_length=500)
    note = forms.CharField(required=False, max_length=5000)


class MergeForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Group.objects.all(),
        label="Merge into group #",
        error_messages={
            "required": "Say which group to merge this one into: its number.",
            "invalid_choice": "No group %(value)s.",
        },
    )
