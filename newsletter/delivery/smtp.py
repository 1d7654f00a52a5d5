"""The sender: one SMTP connection, reused across messages, behind a one-method interface.

Delivery talks to a :class:`Sender` (``send``, and ``close`` when done) so that the same
orchestration drives the real :class:`SmtpSender` and, in principle, any other transport: the
way httpx's client takes a transport. ``send`` splits the SMTP transaction where the journal
needs it: MAIL and RCPT first (a refusal there means the message certainly was not sent), then
``before_data()`` (the journal marks the recipient "sending"), then DATA. A connection lost
before DATA is :class:`ConnectionLost` with ``fate_unknown=False`` (send again); lost after, the
message may or may not have been taken, and ``fate_unknown=True`` says so.

No error message here contains the password: it is read from the environment variable that
``[smtp] password_env`` names and handed only to ``login``.
"""

from __future__ import annotations

import functools
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from newsletter.errors import NewsletterError
from newsletter.model.settings import SmtpSettings

__all__ = ["ConnectionLost", "Reply", "Sender", "SmtpSender", "default_port"]


@dataclass(frozen=True)
class Reply:
    """The server's answer to a message: 2xx taken, 4xx try later, 5xx refused."""

    code: int
    text: str

    @property
    def kind(self) -> str:
        return {2: "sent", 4: "temporary", 5: "permanent"}.get(self.code // 100, "permanent")


class ConnectionLost(Exception):
    """The connection broke during a message; ``fate_unknown`` once DATA had been sent."""

    def __init__(self, message: str, *, fate_unknown: bool) -> None:
        super().__init__(message)
        self.fate_unknown = fate_unknown


class Sender(Protocol):
    """Sends one message to one recipient; see the module's docstring."""

    def send(
        self, mail_from: str, to: str, message: bytes, before_data: Callable[[], None]
    ) -> Reply: ...

    def close(self) -> None: ...


def default_port(settings: SmtpSettings) -> int:
    return settings.port or {"starttls": 587, "tls": 465, "none": 25}[settings.security]


@functools.cache
def _fqdn() -> str:
    """The name EHLO gives, looked up once per process (smtplib would for every connection)."""
    return socket.getfqdn()


class SmtpSender:
    """A :class:`Sender` over one SMTP connection, opened on first use and again after a drop.

    A failure to connect or to log in is a :class:`NewsletterError`: nothing can be sent, and
    the send stops with every unsent recipient left to the next run.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None,
        *,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._password = password
        self._context = tls_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self._settings.host}:{default_port(self._settings)}"

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self._settings
        port = default_port(s)
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, port, local_hostname=_fqdn(), timeout=s.timeout, context=self._context
                )
            else:
                smtp = smtplib.SMTP(s.host, port, local_hostname=_fqdn(), timeout=s.timeout)
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self._context)
                smtp.ehlo()
        except (OSError, smtplib.SMTPException) as error:
            raise NewsletterError(
                f"cannot connect to the SMTP server {self.where} ({s.security}): {_describe(error)}"
            ) from None
        if s.username:
            try:
                smtp.login(s.username, self._password or "")
            except smtplib.SMTPAuthenticationError as error:
                smtp.close()
                raise NewsletterError(
                    f"the SMTP server {self.where} refused the login of {s.username!r}: "
                    f"{error.smtp_code} {_text(error.smtp_error)}"
                ) from None
            except (OSError, smtplib.SMTPException) as error:
                smtp.close()
                raise NewsletterError(
                    f"cannot log in to the SMTP server {self.where}: {_describe(error)}"
                ) from None
        self._smtp = smtp
        return smtp

    def send(
        self, mail_from: str, to: str, message: bytes, before_data: Callable[[], None]
    ) -> Reply:
        smtp = self._connect()
        try:
            code, text = smtp.mail(mail_from)
            if code == 250:
                code, text = smtp.rcpt(to)
            if code not in (250, 251):
                smtp.rset()
                return Reply(code, _text(text))
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error), fate_unknown=False) from None
        before_data()
        try:
            code, text = smtp.docmd("data")
            if code != 354:  # DATA itself refused: nothing was sent
                smtp.rset()
                return Reply(code, _text(text))
            smtp.send(_dot_stuffed(message) + b".\r\n")
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error), fate_unknown=True) from None
        return Reply(code, _text(text))

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _dot_stuffed(message: bytes) -> bytes:
    """``message`` (CRLF line ends) as DATA carries it: each line that starts with a dot gets
    another one, and the last line ends.

    smtplib's ``data()`` does this with a multi-line regular expression that takes half a
    millisecond on a 45 KB message, more than making the message; ``bytes.replace`` takes
    microseconds.
    """
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__
