"""The rep's pages: 今日 and the action form. The form saves through `action_log`, like the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from salestrace.actions.evidence_services import evidence_retry, evidence_upload
from salestrace.actions.forms import ActionForm, SummaryForm, kept_evidence_ids
from salestrace.actions.metrics import is_late_entry, late_after
from salestrace.actions.models import ActionLog, Evidence
from salestrace.actions.rules import ActionDraft
from salestrace.actions.selectors import (
    DirectoryFilters,
    action_get,
    actions_logged_count,
    customer_directory,
    customer_timeline,
    evidence_get,
    evidence_of,
    last_contact_method,
    may_change,
    next_step_counts,
    open_next_steps,
    own_uploads,
    summary_needed,
)
from salestrace.actions.services import NewFile, action_log_with_files, action_update
from salestrace.actions.templatetags.salestrace_ui import colour_name
from salestrace.catalog.packs import CHOICE_FIELDS
from salestrace.catalog.selectors import OptionCatalog, catalog_snapshot, option_catalog, threshold_values
from salestrace.core import clock
from salestrace.core.errors import DomainError, NotFound, PermissionDenied
from salestrace.core.xlsx import xlsx_response
from salestrace.customers.compute import COLOURS, ORANGE, RED, VitalityBands
from salestrace.customers.models import Customer
from salestrace.customers.selectors import (
    customer_colour_counts,
    customer_deals,
    customer_get,
    customer_row,
    customer_stage_history,
    customers_by_urgency,
    open_deals,
)
from salestrace.customers.services import action_on_dormant_refusal
from salestrace.org.models import Role, User
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
    if user.role == Role.STORE_STAFF:
        return redirect(reverse("field:card"))  # store staff work the promotion card only
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
    kept: list[Evidence] = []
    file_errors: dict[str, list[str]] = {}
    if request.method == "POST" and request.POST.get("start") == "photo":
        # 拍照记拜访 on the customer page: the camera first, then the form with the photo in it.
        file_errors = _upload_files(request, user=user, customer_id=customer.pk, kept=kept, now=now)
        if not file_errors:
            ids = ",".join(str(e.pk) for e in kept)
            return redirect(f"{reverse('actions:new', args=[customer.pk])}?contact_method=visit&kept={ids}")
        form = _blank_form(customer, now=now, contact_method="visit")
        status = 400
    elif request.method == "POST":
        data = request.POST.copy()
        form = ActionForm(data)
        # Files first, whatever else is wrong with the entry: an upload that went through is kept
        # (listed on the page, attached on save), so the rep never picks a photo twice.
        kept = own_uploads(
            user=user,
            customer_id=customer.pk,
            evidence_ids=kept_evidence_ids(request.POST.get("kept_evidence", "")),
            now=now,
        )
        if not form.is_valid():
            file_errors = _upload_files(request, user=user, customer_id=customer.pk, kept=kept, now=now)
        else:
            try:
                action_log_with_files(
                    user=user,
                    customer_id=customer.pk,
                    draft=form.draft(),
                    now=now,
                    files=_new_files(request),
                    kept=kept,
                    idempotency_key=form.cleaned_data["idempotency_key"] or None,
                    evidence_ids=[e.pk for e in kept],
                    deal_id=form.cleaned_data["deal_id"],
                    customer=customer,
                )
            except PermissionDenied as exc:
                raise DjangoPermissionDenied from exc
            except NotFound as exc:
                raise Http404 from exc
            except DomainError as exc:
                for error in exc.errors:
                    if error.field in _EVIDENCE_INPUTS:
                        file_errors.setdefault(error.field, []).append(str(error.message))
                    else:
                        form.add_error(error.field if error.field in form.fields else None, str(error.message))
            else:
                messages.success(request, _("Action logged."))
                return redirect(reverse("customers:detail", args=[customer.pk]) + "#timeline")
        data["kept_evidence"] = ",".join(str(e.pk) for e in kept)
        status = 422
    else:
        form = _blank_form(customer, now=now, contact_method=last_contact_method(customer_id=customer.pk))
        # Uploads kept from the camera-first start (?kept=12): only the user's own, for this customer.
        kept = own_uploads(
            user=user,
            customer_id=customer.pk,
            evidence_ids=kept_evidence_ids(request.GET.get("kept", "")),
            now=now,
        )
        form.initial["kept_evidence"] = ",".join(str(e.pk) for e in kept)
        # A visit logged from a check-in (field) opens at the check-in's time (?occurred_at=2026-12-04T10:15).
        at = request.GET.get("occurred_at", "")
        if (
            len(at) == 16
            and (parsed := parse_datetime(at)) is not None
            and parsed <= timezone.localtime(now).replace(tzinfo=None)
        ):
            form.initial["occurred_at"] = at
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
    deals = open_deals(customer_id=customer.pk) if catalog_snapshot().uses_deals else None
    chosen = form["deal_id"].value() if form.is_bound else None
    if deals is not None and not chosen and len(deals) == 1:
        chosen = deals[0].pk  # one open deal: picked without a tap
    context = {
        "customer": customer,
        "form": form,
        "deals": deals,
        "chosen_deal": str(chosen or ""),
        "evidence_inputs": _evidence_inputs(kept, file_errors),
        "refused": bool(form.errors or file_errors),
        "main_choices": [_choice_row(form, name, catalog) for name in MAIN_CHOICES],
        "quality_choices": quality,
        "quality_open": any(row["value"] or row["errors"] for row in quality),
        "server_now": local_now.strftime("%Y-%m-%dT%H:%M"),
        # The site's zone as an offset, so a page kept offline can tell the local "now" itself.
        "utc_offset_minutes": int((local_now.utcoffset() or timedelta()).total_seconds() // 60),
        # What the browser's rule check reads: every field a person fills in, and the files.
        "rule_fields": ",".join([*(f.name for f in fields(ActionDraft) if f.name != "occurred_at"), *_EVIDENCE_INPUTS]),
    }
    return render(request, "actions/form.html", context, status=status)


@login_required
@require_POST
def evidence_retry_page(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """重新识别: read a screenshot or recording again (after a failure, or once an engine is set up)."""
    user: User = request.user  # type: ignore[assignment]
    try:
        evidence = evidence_retry(user=user, evidence_id=evidence_id, now=clock.now())
    except NotFound as exc:
        raise Http404 from exc
    except PermissionDenied as exc:
        raise DjangoPermissionDenied from exc
    except DomainError as exc:
        messages.error(request, "; ".join(str(e.message) for e in exc.errors))
        evidence = evidence_get(user=user, evidence_id=evidence_id)
    else:
        messages.success(request, _("Reading it again; the text will appear shortly."))
    if evidence.action_id is None:
        return redirect(reverse("customers:detail", args=[evidence.customer_id]))
    return redirect(reverse("actions:summary", args=[evidence.action_id]))


def _blank_form(customer: Customer, *, now: datetime, contact_method: str) -> ActionForm:
    """The form as it opens: now, the customer's stage, a fresh idempotency key."""
    return ActionForm(
        initial={
            "occurred_at": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
            "stage": customer.stage,
            "contact_method": contact_method,
            "idempotency_key": uuid.uuid4().hex,
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_summary_page(request: HttpRequest, action_id: int) -> HttpResponse:
    """补写摘要: write the summary of an action whose screenshot or recording could not be read,
    with the files and whatever text was recognised beside it. Saved through `action_update`."""
    user: User = request.user  # type: ignore[assignment]
    try:
        action = action_get(user=user, action_id=action_id)
    except NotFound as exc:
        raise Http404 from exc
    if not may_change(user, action.rep_id):
        raise DjangoPermissionDenied  # the customer page shows it read-only; only its rep writes it
    status = 200
    form = SummaryForm(request.POST or None, initial={"summary": action.summary})
    if request.method == "POST" and form.is_valid():
        try:
            action_update(
                user=user, action_id=action.pk, changes={"summary": form.cleaned_data["summary"]}, now=clock.now()
            )
        except PermissionDenied as exc:
            raise DjangoPermissionDenied from exc
        except DomainError as exc:
            for error in exc.errors:
                form.add_error("summary" if error.field == "summary" else None, str(error.message))
        else:
            messages.success(request, _("Summary saved."))
            return redirect(reverse("customers:detail", args=[action.customer_id]) + f"#action-{action.pk}")
    if request.method == "POST":
        status = 422
    context = {"action": action, "form": form, "files": list(evidence_of(action=action))}
    return render(request, "actions/summary.html", context, status=status)


# The form's file inputs: the evidence field the rules know it by, its kind, what the picker offers.
_EVIDENCE_INPUTS = {
    "evidence_photo": (Evidence.Kind.PHOTO, "image/*"),
    "evidence_screenshot": (Evidence.Kind.SCREENSHOT, "image/*"),
    "evidence_audio": (Evidence.Kind.AUDIO, "audio/*"),
}


def _upload_files(
    request: HttpRequest, *, user: User, customer_id: int, kept: list[Evidence], now: datetime
) -> dict[str, list[str]]:
    """Upload the files picked on the form (added to `kept`); the refusals, by input name."""
    errors: dict[str, list[str]] = {}
    for item in _new_files(request):
        try:
            kept.append(
                evidence_upload(user=user, customer_id=customer_id, kind=item.kind, upload=item.upload, now=now)
            )
        except DomainError as exc:
            errors[item.field] = [str(e.message) for e in exc.errors]
    return errors


def _new_files(request: HttpRequest) -> list[NewFile]:
    """The files picked on the form, named by their inputs."""
    return [
        NewFile(field=name, kind=kind, upload=upload)
        for name, (kind, _accept) in _EVIDENCE_INPUTS.items()
        if (upload := request.FILES.get(name)) is not None
    ]


def _evidence_inputs(kept: list[Evidence], errors: dict[str, list[str]]) -> list[dict[str, object]]:
    """One file input per kind, with the uploads already kept for it and its refusals."""
    return [
        {
            "name": name,
            "label": capfirst(kind.label),
            "accept": accept,
            "capture": kind == Evidence.Kind.PHOTO,  # on phones the camera opens directly
            "kept": [e for e in kept if e.kind == kind],
            "errors": errors.get(name, []),
        }
        for name, (kind, accept) in _EVIDENCE_INPUTS.items()
    ]


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


# --- the customer list and page: a customer with its actions ------------------------------------

LIST_PAGE = 30
TIMELINE_PAGE = 20
HISTORY_LIMIT = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@dataclass(frozen=True)
class TimelineEntry:
    """An action on the customer page; `own` is False for actions logged by someone else (read-only)."""

    action: ActionLog
    late: bool
    own: bool
    summary_needed: bool = False


def _id_param(request: HttpRequest, name: str) -> int | None:
    """A positive id from the query string, or None for anything else (the scope still applies)."""
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def _offset(request: HttpRequest) -> int:
    raw = request.GET.get("offset", "0")
    return min(int(raw), 1_000_000) if raw.isdigit() else 0


@login_required
@require_GET
def customer_list_page(request: HtmxHttpRequest) -> HttpResponse:
    """我的客户: search by name, pinyin or initials; filter by stage and vitality colour."""
    user: User = request.user  # type: ignore[assignment]
    now = clock.now()
    bands = VitalityBands.from_thresholds(threshold_values())
    catalog = option_catalog()
    stage = request.GET.get("stage", "")
    colour = request.GET.get("colour", "")
    filters = DirectoryFilters(
        q=request.GET.get("q", "")[:100],
        stage=stage if stage in catalog.labels.get("stage", {}) else "",
        colour=colour if colour in COLOURS else "",
        owner=_id_param(request, "owner"),
        team=_id_param(request, "team"),
    )
    if request.GET.get("format") == "xlsx":
        return _customers_xlsx(user, filters, bands=bands, labels=catalog.labels, now=now)
    offset = _offset(request)
    found = list(customer_directory(user=user, filters=filters, bands=bands, now=now)[offset : offset + LIST_PAGE + 1])
    context = {
        "rows": [customer_row(c, bands=bands, now=now) for c in found[:LIST_PAGE]],
        "more": len(found) > LIST_PAGE,
        "next_offset": offset + LIST_PAGE,
        "filters": filters,
        "labels": catalog.labels,
        "stages": catalog.choices.get("stage", []),
        "colours": COLOURS,
        "show_owner": user.role != Role.REP,
    }
    if request.htmx:
        template = "customers/_rows.html" if offset else "customers/_results.html"
        return render(request, template, context)
    return render(request, "customers/list.html", context)


XLSX_ROWS = 50_000


def _customers_xlsx(
    user: User, filters: DirectoryFilters, *, bands: VitalityBands, labels: dict[str, dict[str, str]], now: datetime
) -> HttpResponse:
    """The list as filtered, as a spreadsheet with Chinese (or English) headers: every row in scope,
    up to 50,000."""
    found = customer_directory(user=user, filters=filters, bands=bands, now=now).select_related("owner")[:XLSX_ROWS]
    headers = [
        _("Customer"), _("Kind"), _("Stage"), _("Owner"), _("City"), _("Phone numbers"), _("Contact names"),
        _("Last action"), _("Days without action"), _("Vitality"),
    ]  # fmt: skip
    rows = []
    for customer in found:
        row = customer_row(customer, bands=bands, now=now)
        last = customer.last_active_at
        rows.append([
            customer.name, customer.get_kind_display(), labels.get("stage", {}).get(customer.stage, customer.stage),
            str(customer.owner), customer.city, customer.phones, customer.contacts,
            timezone.localtime(last).replace(tzinfo=None) if last else None, row.idle_days,
            colour_name(row.colour),
        ])  # fmt: skip
    stamp = timezone.localtime(now).strftime("%Y%m%d")
    return xlsx_response(
        f"customers-{stamp}", str(_("My customers")), [str(h) for h in headers], rows, {7: "yyyy-mm-dd hh:mm"}
    )


@login_required
@require_GET
def customer_page(request: HtmxHttpRequest, customer_id: int) -> HttpResponse:
    """One customer: header, the timeline of actions newest first, the stage history."""
    user: User = request.user  # type: ignore[assignment]
    try:
        customer = customer_get(user=user, customer_id=customer_id)
    except NotFound as exc:
        raise Http404 from exc
    now = clock.now()
    thresholds = threshold_values()
    late_limit = late_after(thresholds.get("late_entry_hours", 2))
    offset = _offset(request)
    actions, more = customer_timeline(user=user, customer_id=customer.pk, offset=offset, limit=TIMELINE_PAGE)
    context = {
        "customer": customer,
        "entries": [
            TimelineEntry(
                a,
                is_late_entry(occurred_at=a.occurred_at, logged_at=a.logged_at, limit=late_limit),
                a.rep_id == user.pk,
                summary_needed(a),
            )
            for a in actions
        ],
        "more": more,
        "next_offset": offset + TIMELINE_PAGE,
        "labels": option_catalog().labels,
    }
    if request.htmx and offset:
        return render(request, "customers/_timeline_items.html", context)
    log_refusal = action_on_dormant_refusal(user=user, customer=customer, now=now)
    context.update(
        row=customer_row(customer, bands=VitalityBands.from_thresholds(thresholds), now=now),
        history=list(customer_stage_history(customer=customer)[:HISTORY_LIMIT]),
        deals=customer_deals(customer_id=customer.pk) if catalog_snapshot().uses_deals else None,
        # A released lead's frozen owner may not log on it during the lockout: say why, offer no form.
        can_log=can_log_actions(user) and log_refusal is None,
        log_refusal=log_refusal.message if log_refusal else None,
        late_hours=thresholds.get("late_entry_hours", 2),
        # A screenshot or recording still being read, or a photo still being stamped: the timeline
        # refreshes itself until it is done.
        reading=any(
            e.recognition == Evidence.Recognition.PENDING or e.processing == Evidence.Processing.PENDING
            for a in actions
            for e in a.evidence.all()
        ),
    )
    return render(request, "customers/detail.html", context)
