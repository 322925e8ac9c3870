"""设置 · 渠道 (here, above notify, because it shows the reminder times todos keeps): each team's WeCom / DingTalk / Feishu / e-mail settings with masked secrets, its daily
reminder time, and a "发送测试消息" button that answers with the vendor's verdict in plain words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from salestrace.catalog.views import settings_user
from salestrace.core import clock
from salestrace.core.errors import DomainError
from salestrace.notify.jobs import ChannelTest, channel_test
from salestrace.notify.models import Channel, ChannelSettings
from salestrace.notify.selectors import configured_channels, masked_settings, team_configs, teams_with_own_channels
from salestrace.notify.services import PLAIN_FIELDS, SECRET_FIELDS, channel_fingerprint, channel_settings_save
from salestrace.org.models import Team
from salestrace.org.selectors import team_tree
from salestrace.todos.selectors import reminder_times

# The form's fields by channel, in the order a person sets them up.
GROUPS = (
    (Channel.WECOM_GROUP, ("wecom_webhook_url",)),
    (Channel.WECOM_APP, ("wecom_corp_id", "wecom_agent_id", "wecom_corp_secret", "wecom_api_base")),
    (Channel.DINGTALK, ("dingtalk_webhook_url", "dingtalk_secret")),
    (Channel.FEISHU, ("feishu_webhook_url", "feishu_secret")),
    (Channel.EMAIL, ()),
)


def _labels() -> dict[str, str]:
    return {
        "wecom_webhook_url": _("Group robot webhook URL"),
        "wecom_corp_id": _("Corp id"),
        "wecom_agent_id": _("Agent id"),
        "wecom_corp_secret": _("App secret"),
        "wecom_api_base": _("API base (self-hosted gateway only)"),
        "dingtalk_webhook_url": _("Robot webhook URL"),
        "dingtalk_secret": _("Signing secret (加签)"),
        "feishu_webhook_url": _("Bot webhook URL"),
        "feishu_secret": _("Signing secret"),
    }


@login_required
def channels_page(request: HttpRequest) -> HttpResponse:
    """渠道: every team, the channels its messages go to (its own settings or inherited) and its reminder time."""
    settings_user(request)
    configs, times = team_configs(), reminder_times()
    own = teams_with_own_channels()
    rows = [
        {
            "team": place.team,
            "depth": range(place.depth),
            "channels": configured_channels(configs[place.team.pk]) if place.team.pk in configs else (),
            "own": place.team.pk in own,
            "time": times.get(place.team.pk),
        }
        for place in team_tree()
    ]
    return render(request, "todos/settings_channels.html", {"rows": rows, "labels": dict(Channel.choices)})


@login_required
@require_http_methods(["GET", "POST"])
def channel_page(request: HttpRequest, team_id: int) -> HttpResponse:
    """One team's channels: set or clear each (secrets typed in, shown back masked), the reminder time,
    and a test message per channel."""
    user = settings_user(request)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404
    errors: dict[str, str] = {}
    status = 422
    tested: tuple[str, ChannelTest] | None = None
    if request.method == "POST":
        post = request.POST
        if "test" in post:  # the test button of one channel: what is saved is tested, the form is not saved
            channel = post.get("test", "")
            if channel not in Channel.values:
                raise Http404
            try:
                tested = (channel, channel_test(user=user, team_id=team.pk, channel=channel, now=clock.now()))
            except DomainError as exc:
                messages.error(request, " ".join(str(e.message) for e in exc.errors))
        else:
            changes: dict[str, str | None] = {}
            for name in (*PLAIN_FIELDS, *SECRET_FIELDS):
                value = post.get(name, "").strip()
                if name in SECRET_FIELDS:  # empty keeps the secret, "-" removes it
                    changes[name] = None if value == "" else ("" if value == "-" else value)
                else:
                    changes[name] = "" if value == "-" else value
            try:
                changed = channel_settings_save(
                    user=user,
                    team_id=team.pk,
                    changes=changes,
                    default_channels=post.getlist("default_channels"),
                    reminder_time=post.get("reminder_time", ""),
                    now=clock.now(),
                    seen=post.get("seen") or None,
                )
            except DomainError as exc:
                errors = {e.field or "": str(e.message) for e in exc.errors}
                status = exc.status
            else:
                if changed:
                    messages.success(request, _("Saved: %(n)d setting(s) changed.") % {"n": len(changed)})
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("todos:channel", team_id=team.pk)
    row = ChannelSettings.objects.filter(team=team).first()
    masked = masked_settings(row) if row else {}
    config = team_configs().get(team.pk)
    labels = _labels()
    groups = [
        {
            "channel": channel,
            "label": label,
            "active": channel in (configured_channels(config) if config else ()),
            "fields": [
                {
                    "name": name,
                    "label": labels[name],
                    "secret": name in SECRET_FIELDS,
                    "value": (getattr(row, name, "") if row and name in PLAIN_FIELDS else ""),
                    "current": masked.get(name, ""),
                    "error": errors.get(name, ""),
                }
                for name in names
            ],
        }
        for channel, label in Channel.choices
        for ch, names in GROUPS
        if ch == channel
    ]
    context = {
        "team": team,
        "groups": groups,
        "errors": errors,
        "tested": tested,
        "defaults": list(row.default_channels) if row else [],
        "channel_choices": Channel.choices,
        "reminder_time": team.reminder_time.strftime("%H:%M") if team.reminder_time else "",
        "inherited_time": reminder_times().get(team.pk),
        "seen": request.POST.get("seen") or channel_fingerprint(team),
    }
    return render(request, "todos/settings_channel.html", context, status=status if errors else 200)
