"""E-mail through Django's e-mail backend (``EMAIL_URL`` or the Django e-mail settings): a text part and an HTML
part with the same content. SMTP trouble is transient (the outbox retries); a refused address is not."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

# SMTP answers that mean "this address will never take it" (the outbox marks the message failed).
PERMANENT_SMTP_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)


class EmailTransient(Exception):
    """The mail server could not be reached or answered with a temporary error."""


def email_send(*, to: str, subject: str, text: str, html: str = "", unsubscribe_url: str = "") -> None:
    """``unsubscribe_url``: an e-mail to a lead carries it as ``List-Unsubscribe`` with one-click unsubscribing
    (RFC 8058), so the mail client offers its own unsubscribe button and the mailbox provider may post to it."""
    headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"} \
        if unsubscribe_url else None
    message = EmailMultiAlternatives(subject=subject or "Leadflow", body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[to], headers=headers)
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send(fail_silently=False)
    except PERMANENT_SMTP_ERRORS:
        raise
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailTransient(str(exc)) from exc
