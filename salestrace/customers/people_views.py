"""设置 · 人员: the people and teams of the company; add, move, reset, issue a token, let someone go.

One-time secrets (a new password, an API token) are rendered into the answer once and never put in
the session's messages or any log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salestrace.catalog.services import state_fingerprint
from salestrace.catalog.views import settings_user
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.customers.models import Customer
from salestrace.customers.people import (
    PersonInput,
    person_create,
    person_deactivate,
    person_issue_token,
    person_reactivate,
    person_reset_password,
    person_state,
    person_update,
    team_create,
    team_state,
    team_update,
)
from salestrace.org.models import Role, Team, User
from salestrace.org.selectors import team_tree


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdecimal() and len(value) <= 12 else None


def _person_input(post: QueryDict) -> PersonInput:
    return PersonInput(
        display_name=post.get("display_name", ""),
        role=post.get("role", ""),
        team_id=_int(post.get("team_id")),
        email=post.get("email", ""),
        wecom_userid=post.get("wecom_userid", ""),
        mobile=post.get("mobile", ""),
    )


def _teams() -> list[tuple[Team, str]]:
    """Every team with its place in the tree ("华东大区 › 南京一组"), parents first, for the pickers."""
    return [(place.team, place.path) for place in team_tree()]


@login_required
@require_http_methods(["GET", "POST"])
def people_page(request: HttpRequest) -> HttpResponse:
    """人员: everyone by team, with their role and how many active customers they own; add a person or a team."""
    user = settings_user(request)
    errors: dict[str, str] = {}
    created: tuple[User, str] | None = None
    what = request.POST.get("do", "") if request.method == "POST" else ""
    if what == "add_person":
        try:
            created = person_create(
                by=user, username=request.POST.get("username", ""), data=_person_input(request.POST), now=clock.now()
            )
        except DomainError as exc:
            errors = {f"person:{e.field or ''}": str(e.message) for e in exc.errors}
    elif what == "add_team":
        try:
            team_create(
                by=user,
                name=request.POST.get("name", ""),
                kind=request.POST.get("kind", Team.Kind.TEAM),
                parent_id=_int(request.POST.get("parent_id")),
                now=clock.now(),
            )
        except DomainError as exc:
            errors = {f"team:{e.field or ''}": str(e.message) for e in exc.errors}
        else:
            messages.success(request, _("Saved."))
            return redirect("customers:people")
    owned = Count("customers", filter=Q(customers__status=Customer.Status.ACTIVE))
    people = User.objects.select_related("team").annotate(owned=owned).order_by("-is_active", "team__name", "username")
    show_left = request.GET.get("left") == "1"
    if not show_left:
        people = people.filter(is_active=True)
    context = {
        "people": people,
        "teams": _teams(),
        "roles": Role.choices,
        "kinds": Team.Kind.choices,
        "errors": errors,
        "posted": request.POST if errors else {},
        "created": created,
        "show_left": show_left,
    }
    response = render(request, "customers/settings_people.html", context, status=422 if errors else 200)
    if created:
        response["Cache-Control"] = "no-store"  # the new password is not kept by the browser's cache
    return response


@login_required
@require_http_methods(["GET", "POST"])
def person_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """One person: details, team and role; a new password or API token (shown once); leaving."""
    user = settings_user(request)
    person = User.objects.select_related("team").filter(pk=user_id).first()
    if person is None:
        raise Http404
    errors: dict[str, str] = {}
    status = 422
    secret: tuple[str, str] | None = None  # (what, value), shown once
    if request.method == "POST":
        what, now = request.POST.get("do", ""), clock.now()
        try:
            if what == "save":
                changed = person_update(
                    by=user,
                    user_id=person.pk,
                    data=_person_input(request.POST),
                    now=now,
                    seen=request.POST.get("seen") or None,
                )
                messages.success(request, _("Saved.") if changed else _("Nothing changed."))
                return redirect("customers:person", user_id=person.pk)
            if what == "password":
                secret = (_("New password"), person_reset_password(by=user, user_id=person.pk, now=now))
            elif what == "token":
                secret = (_("API token"), person_issue_token(by=user, user_id=person.pk, name="", now=now))
            elif what == "leave":
                heir = _int(request.POST.get("to_user_id"))
                done = person_deactivate(
                    by=user, user_id=person.pk, to_user_id=heir, reason=request.POST.get("reason", ""), now=now
                )
                messages.success(
                    request,
                    _("%(name)s has left: %(moved)d customers handed on, %(pooled)d put into the pool.")
                    % {"name": str(person), "moved": done.reassigned, "pooled": done.pooled},
                )
                return redirect("customers:person", user_id=person.pk)
            elif what == "return":
                person_reactivate(by=user, user_id=person.pk, now=now)
                messages.success(request, _("Saved."))
                return redirect("customers:person", user_id=person.pk)
        except DomainError as exc:
            errors = {e.field or "": str(e.message) for e in exc.errors}
            status = exc.status
        person.refresh_from_db()
    colleagues = User.objects.filter(is_active=True).exclude(pk=person.pk).select_related("team").order_by("username")
    context = {
        "person": person,
        "teams": _teams(),
        "roles": Role.choices,
        "errors": errors,
        "secret": secret,
        "owned": Customer.objects.filter(owner=person, status=Customer.Status.ACTIVE).count(),
        "pooled": Customer.objects.filter(owner=person, status=Customer.Status.DORMANT).count(),
        "colleagues": colleagues,
        "posted": request.POST if errors else {},
        "seen": request.POST.get("seen") or state_fingerprint(person_state(person)),
    }
    response = render(request, "customers/settings_person.html", context, status=status if errors else 200)
    if secret:
        response["Cache-Control"] = "no-store"  # a password or token is not kept by the browser's cache
    return response


@login_required
@require_http_methods(["GET", "POST"])
def team_page(request: HttpRequest, team_id: int) -> HttpResponse:
    """One team: rename it, or move it under another."""
    user = settings_user(request)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            changed = team_update(
                by=user,
                team_id=team.pk,
                name=request.POST.get("name", ""),
                kind=request.POST.get("kind", team.kind),
                parent_id=_int(request.POST.get("parent_id")),
                now=clock.now(),
                seen=request.POST.get("seen") or None,
            )
        except DomainError as exc:
            errors = {e.field or "": str(e.message) for e in exc.errors}
        else:
            messages.success(request, _("Saved.") if changed else _("Nothing changed."))
            return redirect("customers:people")
    context = {
        "team": team,
        "teams": [(t, p) for t, p in _teams() if t.pk != team.pk],
        "kinds": Team.Kind.choices,
        "errors": errors,
        "members": team.members.filter(is_active=True).order_by("username"),
        "seen": request.POST.get("seen") or state_fingerprint(team_state(team)),
    }
    return render(request, "customers/settings_team.html", context, status=422 if errors else 200)
