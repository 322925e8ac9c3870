"""设置 · 模板: apply an industry template with a preview of what changes, export the settings in
force as a template (YAML), and upload one. Here, above catalog, because templates carry follow-up
rules, which todos keeps."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salestrace.catalog.models import ImportedPack, TemplatePack
from salestrace.catalog.pack_io import (
    MAX_PACK_BYTES,
    current_pack,
    pack_codes,
    pack_definition,
    pack_upload,
    pack_yaml,
)
from salestrace.catalog.packs import PackError, available_packs
from salestrace.catalog.views import settings_user
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.todos.services import follow_up_entries, pack_apply, pack_preview


def _areas() -> dict[str, str]:
    return {
        "option": _("Options"),
        "rule": _("Rules"),
        "threshold": _("Thresholds"),
        "follow_up": _("Follow-ups"),
        "policy": _("Policies"),
    }


def _changes() -> dict[str, str]:
    return {"added": _("added"), "renamed": _("renamed"), "changed": _("changed"), "retired": _("retired")}


@login_required
@require_http_methods(["GET", "POST"])
def packs_page(request: HttpRequest) -> HttpResponse:
    """模板: the templates there are, the one loaded; preview one, apply it, upload one, export."""
    user = settings_user(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        what, code = request.POST.get("do", ""), request.POST.get("code", "")
        try:
            if what == "apply":
                report = pack_apply(user=user, code=code, now=clock.now())
                messages.success(request, _("Template %(code)s applied.") % {"code": report.pack})
                return redirect("todos:packs")
            if what == "upload":
                upload = request.FILES.get("file")
                if upload is None:
                    errors = {"file": _("Choose a YAML file.")}
                elif upload.size is not None and upload.size > MAX_PACK_BYTES:
                    errors = {"file": _("A template pack is at most 512 KB.")}
                else:
                    pack = pack_upload(user=user, text=upload.read(MAX_PACK_BYTES + 1), now=clock.now())
                    messages.success(request, _("Uploaded: check what it changes, then apply it."))
                    return redirect(f"{request.path}?preview={pack.code}")
        except DomainError as exc:
            errors = {e.field or "": str(e.message) for e in exc.errors}
        except PackError as exc:
            errors = {"": str(exc)}
    loaded = TemplatePack.objects.order_by("-loaded_at").first()
    packs = []
    for code in pack_codes():
        try:
            definition = pack_definition(code)
        except PackError:
            continue
        packs.append({"code": code, "pack": definition, "shipped": code in available_packs()})
    preview = None
    code = request.GET.get("preview", "")
    if code and code in pack_codes():
        try:
            pack, changes = pack_preview(code=code)
        except PackError as exc:
            errors = {"": str(exc)}
        else:
            areas, kinds = _areas(), _changes()
            preview = {
                "pack": pack,
                "changes": [{"area": areas[c.area], "change": kinds[c.change], "c": c} for c in changes],
            }
    context = {
        "packs": packs,
        "loaded": loaded,
        "preview": preview,
        "errors": errors,
        "uploaded": set(ImportedPack.objects.values_list("code", flat=True)),
    }
    return render(request, "todos/settings_packs.html", context, status=422 if errors else 200)


@login_required
def pack_export(request: HttpRequest) -> HttpResponse:
    """The settings in force as a template (YAML), to keep, edit, or load on another server."""
    settings_user(request)
    data = current_pack(follow_ups=follow_up_entries())
    response = HttpResponse(pack_yaml(data), content_type="application/yaml; charset=utf-8")
    stamp = clock.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="salestrace-{data["code"]}-{stamp}.yaml"'
    return response
