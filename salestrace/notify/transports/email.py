"""E-mail over SMTP through Django's mail framework: plain text plus an HTML alternative; a message's
chart image goes inside the HTML (multipart/related, referenced by Content-ID)."""

from __future__ import annotations

import logging
import smtplib
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from salestrace.notify.transports import DeliveryFailed, Message, Target

log = logging.getLogger(__name__)
IMAGE_CID = "chart"


def _image(name: str) -> bytes | None:
    """The stored image's bytes; None (the mail goes without it) when it is gone."""
    try:
        with default_storage.open(name, "rb") as stored:
            return bytes(stored.read())
    except OSError:
        log.warning("message image %s not found; sent without it", name)
        return None


def send(message: Message, target: Target) -> None:
    image = _image(message.image) if message.image else None
    html = render_to_string("notify/email.html", {"message": message, "image_cid": IMAGE_CID if image else ""})
    mail = EmailMultiAlternatives(
        subject=message.title, body=message.as_text(), from_email=settings.DEFAULT_FROM_EMAIL, to=[target.address]
    )
    mail.attach_alternative(html, "text/html")
    if image is not None:
        part = MIMEImage(image, "png")
        part.add_header("Content-ID", f"<{IMAGE_CID}>")
        part.add_header("Content-Disposition", "inline", filename="chart.png")
        mail.mixed_subtype = "related"  # type: ignore[attr-defined]  # the HTML and its picture travel as one
        mail.attach(part)
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"recipient refused: {exc.recipients}", retryable=False) from None
    except smtplib.SMTPResponseException as exc:  # the server's code only: its text may echo credentials
        raise DeliveryFailed(f"SMTP {exc.smtp_code}: {type(exc).__name__}") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP: {type(exc).__name__}") from None
