"""The weekly action-health digest and the coaching task: when, to whom, what, and never twice."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage

from salestrace.actions.models import ActionLog
from salestrace.analytics.jobs import DIGEST_SOURCE, digest_week, health_digest
from salestrace.analytics.tests.factories import at, generated_team, logged, make_customers
from salestrace.notify.models import InboxMessage
from salestrace.todos.models import CompanyDayOff, Task

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)  # the digest reports 11-16 to 11-22
# The digest's charts, kept for a person to look at (as the browser tests keep their screenshots).
CHARTS = Path(__file__).resolve().parents[3] / "artifacts" / "charts"


def moment(day: date, hour: int = 8, minute: int = 5) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def run(at_moment: datetime) -> int:
    with time_machine.travel(at_moment, tick=False):
        return health_digest(now=at_moment)


def digests() -> dict[str, InboxMessage]:
    return {m.user.username: m for m in InboxMessage.objects.filter(source=DIGEST_SOURCE).select_related("user")}


def test_the_digest_day_is_the_first_working_day_from_the_setting() -> None:
    # given a week whose Monday is off
    off = {date(2026, 11, 23)}

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in off

    # then Monday gives nothing, Tuesday the week before it; an ordinary week goes out on Monday
    assert digest_week(date(2026, 11, 23), weekday=1, is_working_day=working) is None
    week = digest_week(date(2026, 11, 24), weekday=1, is_working_day=working)
    assert week is not None
    assert (week.key, week.day, week.period.since, week.period.until) == (
        "2026-W48",
        date(2026, 11, 24),
        date(2026, 11, 16),
        date(2026, 11, 22),
    )
    assert digest_week(date(2026, 11, 30), weekday=1, is_working_day=working).day == date(2026, 11, 30)  # type: ignore[union-attr]
    # a week with no working day from the set day on has no digest
    assert digest_week(date(2026, 11, 29), weekday=6, is_working_day=working) is None


def test_nothing_goes_out_before_eight_or_on_other_days(personas: Any) -> None:
    generated_team(personas)
    assert run(moment(MONDAY, 7, 55)) == 0
    assert run(moment(MONDAY - timedelta(days=2), 9)) == 0  # Saturday: no digest on a day off
    assert not InboxMessage.objects.filter(source=DIGEST_SOURCE).exists()


def test_each_rep_and_supervisor_gets_the_digest_once(personas: Any) -> None:
    # given East-1's generated team and Bob, alone in West-1
    generated_team(personas)
    # when the job runs at 08:05 on Monday, again at 08:15, and once more after its week mark is lost
    first = run(moment(MONDAY))
    again = run(moment(MONDAY, 8, 15))
    from salestrace.todos.models import JobCursor

    JobCursor.objects.filter(name="health-digest").delete()
    third = run(moment(MONDAY, 9))
    # then every rep and the supervisor got one message, and the reruns sent nothing
    sent = digests()
    assert set(sent) == {"alice", "bob", "carol", "lily", "sid", "sam"}
    assert first == 6
    assert (again, third) == (0, 0)
    assert InboxMessage.objects.filter(source=DIGEST_SOURCE).count() == 6


def test_a_reps_digest_has_their_figures_and_their_chart(personas: Any) -> None:
    generated_team(personas)
    run(moment(MONDAY))
    lily = digests()["lily"]
    # then her own figures in Chinese, timeliness marked under its line, a PNG chart in storage
    assert lily.title.startswith("您的动作健康度，11-16 至 11-22：")
    texts = [line["text"] for line in lily.payload["lines"]]
    assert "及时性 50%（基准线 80%） ↓" in texts
    assert any(t.startswith("有效动作数") for t in texts)
    assert "/dashboard/health/?since=2026-11-16&until=2026-11-22" in lily.payload["link"]
    image = lily.payload["image"]
    with default_storage.open(image, "rb") as stored:
        png = stored.read()
    assert png.startswith(b"\x89PNG")
    CHARTS.mkdir(parents=True, exist_ok=True)
    (CHARTS / "digest-rep.png").write_bytes(png)


def test_the_supervisors_digest_lists_the_team_with_flags(personas: Any) -> None:
    generated_team(personas)
    run(moment(MONDAY))
    sam = digests()["sam"]
    texts = [line["text"] for line in sam.payload["lines"]]
    assert texts[0].startswith("团队：完整性")
    names = [t.split("：", 1)[0] for t in texts[1:]]
    assert sorted(names) == ["alice", "carol", "lily", "sid"]
    assert any(t.startswith("lily") and "录入不及时" in t for t in texts)
    assert any(t.startswith("sid") and "记录不完整" in t for t in texts)
    with default_storage.open(sam.payload["image"], "rb") as stored:
        CHARTS.mkdir(parents=True, exist_ok=True)
        (CHARTS / "digest-supervisor.png").write_bytes(stored.read())


def test_the_digest_goes_to_personal_channels_never_to_the_team_group_robot(personas: Any, settings: Any) -> None:
    from salestrace.notify.models import Delivery

    # given a WeCom group robot and e-mail configured for everyone, Sam with an address
    settings.WECOM_WEBHOOK_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test"
    settings.NOTIFY_EMAIL_ENABLED = True
    personas.sam.email = "sam@example.com"
    personas.sam.save()
    generated_team(personas)
    # when
    run(moment(MONDAY))
    # then e-mail to Sam, nothing at all to the group robot (it would show every score to the group)
    channels = set(Delivery.objects.filter(source=DIGEST_SOURCE).values_list("channel", "user__username"))
    assert ("email", "sam") in channels
    assert not any(channel == "wecom_group" for channel, _user in channels)


def test_a_rep_who_reads_english_gets_it_in_english(personas: Any) -> None:
    generated_team(personas)
    personas.alice.language = "en"
    personas.alice.save()
    run(moment(MONDAY))
    assert digests()["alice"].title.startswith("Your action health, 11-16 to 11-22: ")


def test_a_monday_off_moves_the_digest_to_tuesday(personas: Any) -> None:
    generated_team(personas)
    CompanyDayOff.objects.create(date=MONDAY, name="公司团建")
    assert run(moment(MONDAY)) == 0
    assert run(moment(MONDAY + timedelta(days=1), 8, 1)) == 6
    assert digests()["lily"].title.startswith("您的动作健康度，11-16 至 11-22")


@pytest.fixture
def low_quality_alice(personas: Any) -> None:
    """Alice's week: 12 responses recorded, 3 high-value (25%), 7 of them 要求延期 and 2 明确拒绝."""
    shops = make_customers(personas.alice, 12)
    strengths = ["active_question"] * 3 + ["request_delay"] * 7 + ["explicit_refusal"] * 2
    ActionLog.objects.bulk_create(
        logged(shop, rep=personas.alice, occurred=at(date(2026, 11, 16 + i % 5)), response_strength=s)
        for i, (shop, s) in enumerate(zip(shops, strengths, strict=True))
    )


def test_low_contact_quality_makes_one_coaching_task_with_the_supervisor_copied(
    personas: Any, low_quality_alice: None
) -> None:
    # when the weekly job runs twice
    run(moment(MONDAY))
    from salestrace.todos.models import JobCursor

    JobCursor.objects.filter(name="health-digest").delete()
    run(moment(MONDAY, 10))
    # then one task for Alice naming her weakest pattern, linking her low-value contacts, Sam CC'd
    task = Task.objects.get(assignee=personas.alice)
    assert task.dedupe_key == f"coaching:{personas.alice.pk}:2026-W48"
    assert task.title == "沟通质量诊断：高价值沟通 25%，低于 60% 基准线"
    assert "最薄弱的环节：要求延期，7 次。" in task.detail
    assert task.detail.count("/customers/") == 9
    assert "tab=quality" in task.link
    assert f"rep_id={personas.alice.pk}" in task.link
    assert list(task.cc.values_list("username", flat=True)) == ["sam"]
    assert task.remind_at is not None
    told = InboxMessage.objects.get(user=personas.sam, dedupe_key__startswith="coaching-cc:")
    assert told.title == "沟通质量辅导已布置，11-16 至 11-22"
    assert [line["text"] for line in told.payload["lines"]] == ["alice：高价值沟通 25%"]


def test_no_coaching_above_the_line_or_on_too_few_responses(personas: Any) -> None:
    # given Bob with only 3 responses, none high-value, and East-1's team at 67%
    generated_team(personas)
    shop = make_customers(personas.bob, 1)[0]
    ActionLog.objects.bulk_create(
        logged(shop, rep=personas.bob, occurred=at(date(2026, 11, 17)), response_strength="request_delay")
        for _ in range(3)
    )
    # when
    run(moment(MONDAY))
    # then nobody is coached
    assert not Task.objects.filter(rule_code="coaching_contact_quality").exists()


def test_a_teams_digest_is_a_fixed_number_of_queries_whatever_its_size(personas: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salestrace.analytics.jobs import digest_week, handle_one_team_digest
    from salestrace.org.models import Role, User

    # given East-1's four reps
    generated_team(personas)
    week = digest_week(MONDAY, weekday=1, is_working_day=lambda d: d.weekday() < 5)
    assert week is not None
    handle_one_team_digest(team_id=personas.east1.pk, week=week, now=moment(MONDAY))  # the catalog's cache warm
    InboxMessage.objects.all().delete()
    with CaptureQueriesContext(connection) as four:
        assert handle_one_team_digest(team_id=personas.east1.pk, week=week, now=moment(MONDAY)) == 4
    # when twelve more join (the digest sent again to everyone)
    InboxMessage.objects.all().delete()
    User.objects.bulk_create(User(username=f"new{i}", role=Role.REP, team=personas.east1) for i in range(12))
    with CaptureQueriesContext(connection) as sixteen:
        assert handle_one_team_digest(team_id=personas.east1.pk, week=week, now=moment(MONDAY)) == 16
    # then the same number of queries, and few of them
    assert len(sixteen) == len(four) <= 21


def test_chart_images_older_than_eight_weeks_are_purged(settings: Any, tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from salestrace.analytics.jobs import digest_images_purge

    # given the charts of week 40 and week 49 of 2026, and a stray folder that is not a week's
    for path in ("health-digest/2026-W40/1.png", "health-digest/2026-W49/1.png", "health-digest/other/x.png"):
        default_storage.save(path, ContentFile(b"png"))
    # when the purge runs on Thursday 3 December 2026 (week 49)
    deleted = digest_images_purge(now=datetime(2026, 12, 3, 2, 45, tzinfo=UTC))
    # then only the week more than eight weeks old went, folder and all
    assert deleted == 1
    assert not default_storage.exists("health-digest/2026-W40/1.png")
    assert not (settings.MEDIA_ROOT / "health-digest" / "2026-W40").exists()
    assert default_storage.exists("health-digest/2026-W49/1.png")
    assert default_storage.exists("health-digest/other/x.png")
    # and a second run finds nothing more
    assert digest_images_purge(now=datetime(2026, 12, 3, 2, 45, tzinfo=UTC)) == 0
