"""The action form of the web pages: types and lengths only; the rules are the service's job."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from salestrace.actions.rules import ActionDraft
from salestrace.catalog.rule_builder import FIELD_LABELS as LABELS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _choice(label: StrOrPromise) -> forms.CharField:
    """An optional option code; whether it is required is for the rules to say."""
    return forms.CharField(label=label, max_length=50, required=False)


class ActionForm(forms.Form):
    """What a rep fills in on a phone; parsed into an ActionDraft for `action_log`."""

    occurred_at = forms.DateTimeField(
        label=_("When it happened"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        error_messages={"required": _("Enter when it happened."), "invalid": _("Enter a valid date and time.")},
    )
    contact_method = forms.CharField(
        label=LABELS["contact_method"], max_length=50, error_messages={"required": _("Choose the contact method.")}
    )
    stage = forms.CharField(
        label=LABELS["stage"], max_length=50, error_messages={"required": _("Choose the customer stage.")}
    )
    key_action = _choice(LABELS["key_action"])
    obstacle = _choice(LABELS["obstacle"])
    next_step_plan = forms.CharField(label=LABELS["next_step_plan"], max_length=500, required=False)
    next_step_date = forms.DateField(
        label=LABELS["next_step_date"],
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a valid date.")},
    )
    next_step_deliverable = forms.CharField(label=LABELS["next_step_deliverable"], max_length=200, required=False)
    emotion = _choice(LABELS["emotion"])
    summary = forms.CharField(label=LABELS["summary"], max_length=5000, required=False, widget=forms.Textarea)
    channel = _choice(LABELS["channel"])
    content_type = _choice(LABELS["content_type"])
    response_strength = _choice(LABELS["response_strength"])
    # Where the template uses deals: the open deal worked on (empty: the one open deal, or a new one).
    deal_id = forms.IntegerField(
        label=_("Deal"), required=False, min_value=1, error_messages={"invalid": _("Choose one of the deals.")}
    )
    idempotency_key = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
    # Files uploaded by an earlier try that did not save (ids, comma-separated): attached on save.
    kept_evidence = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)

    def draft(self) -> ActionDraft:
        """The cleaned values as a draft; call only after is_valid()."""
        return ActionDraft(**{f.name: self.cleaned_data[f.name] for f in fields(ActionDraft)})


class SummaryForm(forms.Form):
    """The summary alone, written by hand when a screenshot or recording could not be read."""

    summary = forms.CharField(
        label=_("Summary"),
        max_length=5000,
        widget=forms.Textarea,
        error_messages={"required": _("Write the summary: what was said, what was agreed.")},
    )


def kept_evidence_ids(raw: str) -> list[int]:
    """The ids of the hidden `kept_evidence` field; a tampered value keeps nothing."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if len(parts) > 20 or not all(part.isdigit() and len(part) <= 12 for part in parts):
        return []
    return [int(part) for part in parts]
