"""E-mail against a local SMTP server (aiosmtpd): plain text plus HTML, refusals recorded."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message as EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from salestrace.notify.jobs import deliver_due
from salestrace.notify.models import Delivery
from salestrace.notify.selectors import team_configs
from salestrace.notify.services import Note, Recipient, notify
from salestrace.notify.transports import Line, Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_env_channels")]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Inbox]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.NOTIFY_EMAIL_ENABLED = True
    settings.DEFAULT_FROM_EMAIL = "SalesTrace <noreply@salestrace.test>"
    try:
        yield inbox
    finally:
        controller.stop()


def _queue(user: Any, now: Any) -> None:
    message = Message(
        title="11-26：今天还有 1 项待补录",
        lines=(Line("补全 <联华超市> 的动作记录", "http://127.0.0.1:8000/customers/1/actions/new/?action=7"),),
        link="http://127.0.0.1:8000/tasks/",
    )
    recipient = Recipient(user.pk, user.team_id, ("email",), email=user.email)
    notify(notes=[Note(recipient, message, "mail-1")], configs=team_configs(), source="test", now=now)


def test_email_goes_out_as_plain_text_with_an_html_alternative(personas: Any, smtp: Any, now: Any) -> None:
    # given alice has an e-mail address and chose e-mail
    personas.alice.email = "alice@example.com"
    personas.alice.save()
    # when her message is delivered
    _queue(personas.alice, now)
    deliver_due(now=now)
    # then the SMTP server got one multipart/alternative mail: text and escaped HTML
    ((to, mail),) = smtp.messages
    assert to == ["alice@example.com"]
    assert mail.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk() if not p.is_multipart()}
    assert "补全 <联华超市> 的动作记录" in parts["text/plain"]
    assert "补全 &lt;联华超市&gt; 的动作记录" in parts["text/html"]
    assert 'href="http://127.0.0.1:8000/customers/1/actions/new/?action=7"' in parts["text/html"]
    assert Delivery.objects.get().status == Delivery.Status.SENT


def test_a_refused_mailbox_is_a_permanent_failure(personas: Any, smtp: Any, now: Any) -> None:
    personas.alice.email = "nobody@example.com"
    personas.alice.save()
    _queue(personas.alice, now)
    deliver_due(now=now)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "recipient refused" in delivery.last_error
    assert smtp.messages == []


def test_a_message_with_a_chart_shows_it_inline_by_content_id(personas: Any, smtp: Any, now: Any) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    # given a stored chart and a message that names it
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    name = default_storage.save("health-digest/test/chart.png", ContentFile(png))
    personas.alice.email = "alice@example.com"
    personas.alice.save()
    message = Message(title="本周动作健康度", lines=(Line("得分 71"),), image=name)
    recipient = Recipient(personas.alice.pk, personas.alice.team_id, ("email",), email=personas.alice.email)
    notify(notes=[Note(recipient, message, "mail-chart")], configs=team_configs(), source="test", now=now)
    # when
    deliver_due(now=now)
    # then one multipart/related mail: the HTML points at the picture's Content-ID, the picture is inline
    ((_to, mail),) = smtp.messages
    assert mail.get_content_type() == "multipart/related"
    parts = {p.get_content_type(): p for p in mail.walk() if not p.is_multipart()}
    assert 'src="cid:chart"' in parts["text/html"].get_payload(decode=True).decode()
    image = parts["image/png"]
    assert image["Content-ID"] == "<chart>"
    assert image.get_content_disposition() == "inline"
    assert image.get_payload(decode=True) == png
    assert "得分 71" in parts["text/plain"].get_payload(decode=True).decode()


def test_a_missing_chart_does_not_stop_the_mail(personas: Any, smtp: Any, now: Any) -> None:
    personas.alice.email = "alice@example.com"
    personas.alice.save()
    message = Message(title="本周动作健康度", image="health-digest/gone.png")
    recipient = Recipient(personas.alice.pk, personas.alice.team_id, ("email",), email=personas.alice.email)
    notify(notes=[Note(recipient, message, "mail-gone")], configs=team_configs(), source="test", now=now)
    deliver_due(now=now)
    ((_to, mail),) = smtp.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert Delivery.objects.get().status == Delivery.Status.SENT
