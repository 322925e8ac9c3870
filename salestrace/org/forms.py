from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ApiTokenForm(forms.Form):
    """A new API token from the account page: what it is for, and when it should stop working."""

    name = forms.CharField(label=_("What is it for?"), max_length=100, required=False)
    expires_in_days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Empty: until you revoke it."),
        # A text box with the phone's number pad: styled like the other fields, checked as a number.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]*"}),
    )
