"""The rep's pages: 今日 and the action form. The form saves through `action_log`, like the API."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from salestrace.actions.forms import ActionForm
from salestrace.actions.models import Evidence
from salestrace.actions.selectors import actions_logged_count, last_contact_method, next_step_counts, open_next_steps
from salestrace.actions.services import action_log, evidence_add
from salestrace.catalog.packs import CHOICE_FIELDS
from salestrace.catalog.selectors import OptionCatalog, option_catalog, threshold_values
from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound, PermissionDenied
from salestrace.customers.compute import ORANGE, RED, VitalityBands
from salestrace.customers.selectors import customer_colour_counts, customer_get, customers_by_urgency
from salestrace.customers.views import customer_row
from salestrace.org.models import User
from salestrace.org.selectors import can_log_actions

NEXT_STEPS_SHOWN = 50
URGENT_SHOWN = 10
# Choice rows shown on the form, in order; the last three sit in a folded "contact quality" part.
MAIN_CHOICES = ("contact_method", "stage", "key_action", "obstacle", "emotion")
QUALITY_CHOICES = ("channel", "content_type", "response_strength")


@login_required
@require_GET
def today_page(request: HttpRequest) -> HttpResponse:
    """今日: next steps due today and overdue, customers by urgency, counts of what is still open."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    local = timezone.localtime(now)
    today = local.date()
    bands = VitalityBands.from_thresholds(threshold_values())
    colours = customer_colour_counts(user=user, bands=bands, now=now)
    context = {
        "today": today,
        "steps": list(open_next_steps(user=user, until=today)[:NEXT_STEPS_SHOWN]),
        "counts": next_step_counts(user=user, today=today),
        "logged_today": actions_logged_count(user=user, since=local.replace(hour=0, minute=0, second=0, microsecond=0)),
        "to_wake": colours[ORANGE] + colours[RED],
        "urgent": [customer_row(c, bands=bands, now=now) for c in customers_by_urgency(user=user, limit=URGENT_SHOWN)],
        "labels": option_catalog().labels,
    }
    return render(request, "actions/today.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def action_new_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """新增动作日志: customer, rep and time filled in; every rule violation shown by its field."""
    user: User = request.user  # type: ignore[assignment]
    if not can_log_actions(user):
        raise DjangoPermissionDenied
    try:
        customer = customer_get(user=user, customer_id=customer_id, for_write=True)
    except NotFound as exc:
        raise Http404 from exc
    now = clock.now()
    status = 200
    if request.method == "POST":
        form = ActionForm(request.POST)
        if form.is_valid():
            try:
                action, created = action_log(
                    user=user,
                    customer_id=customer.pk,
                    draft=form.draft(),
                    now=now,
                    idempotency_key=form.cleaned_data["idempotency_key"] or None,
                )
            except PermissionDenied as exc:
                raise DjangoPermissionDenied from exc
            except NotFound as exc:
                raise Http404 from exc
            except DomainError as exc:
                for error in exc.errors:
                    form.add_error(error.field if error.field in form.fields else None, str(error.message))
            else:
                messages.success(request, _("Action logged."))
                if created:
                    _attach_evidence(request, user=user, action_id=action.pk, now=now)
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
        status = 422
    else:
        local = timezone.localtime(now)
        form = ActionForm(
            initial={
                "occurred_at": local.strftime("%Y-%m-%dT%H:%M"),
                "stage": customer.stage,
                "contact_method": last_contact_method(customer_id=customer.pk),
                "idempotency_key": uuid.uuid4().hex,
            }
        )
    catalog = option_catalog()
    if not form.is_bound:
        # Links from tasks and reminders may preset choices (?key_action=quick_diagnosis); unknown codes are ignored.
        for name, set_code in CHOICE_FIELDS.items():
            value = request.GET.get(name, "")
            if name in form.fields and value in {code for code, _ in catalog.choices.get(set_code, [])}:
                form.initial[name] = value
    if not form.is_bound and not form.initial["contact_method"]:
        form.initial["contact_method"] = next(iter(catalog.choices.get("contact_method", [("", "")])))[0]
    local_now = timezone.localtime(now)
    quality = [_choice_row(form, name, catalog) for name in QUALITY_CHOICES]
    context = {
        "customer": customer,
        "form": form,
        "main_choices": [_choice_row(form, name, catalog) for name in MAIN_CHOICES],
        "quality_choices": quality,
        "quality_open": any(row["value"] or row["errors"] for row in quality),
        "server_now": local_now.strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "actions/form.html", context, status=status)


_EVIDENCE_INPUTS = {
    "evidence_photo": Evidence.Kind.PHOTO,
    "evidence_screenshot": Evidence.Kind.SCREENSHOT,
    "evidence_audio": Evidence.Kind.AUDIO,
}


def _attach_evidence(request: HttpRequest, *, user: User, action_id: int, now: datetime) -> None:
    """Files picked on the form, attached after the action is saved; a refused file is reported,
    the action stays (the rep can add the file again from the API or a new form)."""
    for name, kind in _EVIDENCE_INPUTS.items():
        upload = request.FILES.get(name)
        if upload is None:
            continue
        try:
            evidence_add(user=user, action_id=action_id, kind=kind, upload=upload, now=now)
        except DomainError as exc:
            reason = "; ".join(str(e.message) for e in exc.errors)
            messages.error(request, _("%(kind)s not attached: %(reason)s") % {"kind": kind.label, "reason": reason})


def _choice_row(form: ActionForm, name: str, catalog: OptionCatalog) -> dict[str, object]:
    """One tap-friendly row of choices: the field, its options and the value chosen now."""
    field = form[name]
    return {
        "name": name,
        "label": field.label,
        "options": catalog.choices.get(CHOICE_FIELDS[name], []),
        "value": field.value() or "",
        "errors": field.errors,
        "optional": not form.fields[name].required,
    }
