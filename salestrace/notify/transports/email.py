"""E-mail over SMTP through Django's mail framework: plain text plus an HTML alternative."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from salestrace.notify.transports import DeliveryFailed, Message, Target


def send(message: Message, target: Target) -> None:
    html = render_to_string("notify/email.html", {"message": message})
    mail = EmailMultiAlternatives(
        subject=message.title, body=message.as_text(), from_email=settings.DEFAULT_FROM_EMAIL, to=[target.address]
    )
    mail.attach_alternative(html, "text/html")
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"recipient refused: {exc.recipients}", retryable=False) from None
    except smtplib.SMTPResponseException as exc:  # the server's code only: its text may echo credentials
        raise DeliveryFailed(f"SMTP {exc.smtp_code}: {type(exc).__name__}") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP: {type(exc).__name__}") from None
