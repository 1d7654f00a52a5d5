"""The sender: one SMTP connection, reused across messages, behind a one-method interface.

Delivery talks to a :class:`Sender` (``send``, and ``close`` when done) so that the same
orchestration drives the real :class:`SmtpSender` and, in principle, any other transport: the
way httpx's client takes a transport. ``send`` splits the SMTP transaction where the journal
needs it: MAIL and RCPT first (a refusal there means the message certainly was not sent), then
``before_data()`` (the journal marks the recipient "sending"), then DATA. A server that offers
PIPELINING (RFC 2920; Postfix, Exim and the ESPs' relays do) gets MAIL, RCPT and DATA in one
write, and the message after ``before_data()``: the journal still knows of the message before
the server can have taken it. A connection lost
before the final dot was handed over is :class:`ConnectionLost` with ``fate_unknown=False``
(the server cannot have taken a message it never saw the end of: send again); lost while
waiting for the answer to the final dot, the message may or may not have been taken, and
``fate_unknown=True`` says so. A 4xx or 5xx answer is a :class:`Reply` whatever the state of
the connection after it (a server that says 421 and hangs up has said "try later").

Every message has a total deadline, ``[smtp] timeout`` seconds from MAIL to the answer to the
final dot (and a connection as long to connect, greet, start TLS and log in): the socket's own
timeout bounds each read, but a server that trickles a byte a second never lets one expire, so
a watchdog shuts the socket down when the deadline passes. :meth:`SmtpSender.abort` does the
same at once, for Ctrl-C. Nothing with a CR, LF or NUL where it does not belong reaches the
server: an envelope address with one, or a message with a bare CR or LF or a NUL (which a
lenient relay could read as the end of the message and the start of another), is refused
before MAIL.

No error message here contains the password: it is read from the environment variable that
``[smtp] password_env`` names and handed only to ``login``.
"""

from __future__ import annotations

import contextlib
import functools
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from newsletter.errors import NewsletterError
from newsletter.model.settings import SmtpSettings

__all__ = [
    "Abortable",
    "ConnectionLost",
    "Reply",
    "Sender",
    "SmtpSender",
    "default_port",
    "unsafe_line_break",
]


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


@runtime_checkable
class Abortable(Protocol):
    """A sender that can cut short what it is doing from another thread (Ctrl-C): the message
    in hand ends at once, as if the connection had been lost."""

    def abort(self) -> None: ...


#: A line break that is not CRLF, or a NUL: what must never be in a message on the wire.
_UNSAFE = re.compile(rb"\r(?!\n)|(?<!\r)\n|\0")


def unsafe_line_break(data: bytes) -> str | None:
    """Where ``data`` holds a bare CR, a bare LF or a NUL (``"a bare LF at byte 1,204"``), or
    None when every line ends in CRLF (counted first: a regular expression over every byte of a
    45 KB message takes milliseconds, the counts microseconds)."""
    pairs = data.count(b"\r\n")
    if data.count(b"\r") == pairs == data.count(b"\n") and b"\0" not in data:
        return None
    found = _UNSAFE.search(data)
    if found is None:
        return None
    name = {b"\r": "a bare CR", b"\n": "a bare LF", b"\0": "a NUL"}[found.group()]
    return f"{name} at byte {found.start():,}"


class _Watchdog:
    """Shuts a connection's socket down when its deadline passes (or at once, on abort)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._deadline: float | None = None
        self._target: smtplib.SMTP | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self.fired = False  # the last armed connection was cut: what it read since is partial

    def arm(self, smtp: smtplib.SMTP, seconds: float) -> None:
        with self._changed:
            self.fired = False
            self._target, self._deadline = smtp, time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()
            self._changed.notify()

    def disarm(self) -> None:
        with self._changed:
            self._target = self._deadline = None

    def fire(self) -> None:
        """Cut the armed connection now."""
        with self._changed:
            target, self._target, self._deadline = self._target, None, None
            self.fired = True
        _shut(target)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._target = self._deadline = None
            self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while not self._closed:
                if self._deadline is None:
                    self._changed.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._changed.wait(left)
                    continue
                target, self._target, self._deadline = self._target, None, None
                self.fired = True
                _shut(target)


def _shut(smtp: smtplib.SMTP | None) -> None:
    """Shut ``smtp``'s socket down, so that a read or write blocked on it returns at once."""
    sock = getattr(smtp, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):  # the plain socket's: no TLS goodbye with a stuck peer
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


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
        self._watchdog = _Watchdog()
        self._aborted = False

    @property
    def where(self) -> str:
        return f"{self._settings.host}:{default_port(self._settings)}"

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self._settings
        port = default_port(s)
        if self._aborted:
            raise ConnectionLost("the send was stopped", fate_unknown=False)
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(
                local_hostname=_fqdn(), timeout=s.timeout, context=self._context
            )
        else:
            smtp = smtplib.SMTP(local_hostname=_fqdn(), timeout=s.timeout)
        # made unconnected, so that the watchdog is armed before the first byte; TLS checks the
        # certificate against the name the constructor would have set
        smtp._host = s.host  # type: ignore[attr-defined]
        self._watchdog.arm(smtp, s.timeout)
        try:
            smtp.connect(s.host, port)
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self._context)
                smtp.ehlo()
        except (OSError, smtplib.SMTPException, ValueError) as error:
            self._watchdog.disarm()
            smtp.close()
            raise NewsletterError(
                f"cannot connect to the SMTP server {self.where} ({s.security}): "
                f"{_describe(error, s.timeout)}"
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
                    f"cannot log in to the SMTP server {self.where}: {_describe(error, s.timeout)}"
                ) from None
            finally:
                self._watchdog.disarm()
        self._watchdog.disarm()
        self._smtp = smtp
        return smtp

    def send(
        self, mail_from: str, to: str, message: bytes, before_data: Callable[[], None]
    ) -> Reply:
        for address in (mail_from, to):
            if unsafe_line_break(address.encode()) or "\r" in address or "\n" in address:
                raise NewsletterError(f"refusing to send to {address!r}: a line break in it")
        unsafe = unsafe_line_break(message)
        if unsafe:
            raise NewsletterError(
                f"refusing to send the message to {to}: it holds {unsafe}, which a relay may "
                "read as the end of the message"
            )
        smtp = self._connect()
        self._watchdog.arm(smtp, self._settings.timeout)
        try:
            return self._transaction(smtp, mail_from, to, message, before_data)
        finally:
            self._watchdog.disarm()

    def _transaction(
        self,
        smtp: smtplib.SMTP,
        mail_from: str,
        to: str,
        message: bytes,
        before_data: Callable[[], None],
    ) -> Reply:
        timeout = self._settings.timeout
        try:
            (code, text), data = self._envelope(smtp, mail_from, to)
            if code not in (250, 251) and data is not None and data[0] == 354:
                smtp.send(b".\r\n")  # DATA was taken with no recipient: end it, empty
                self._answer(smtp.getreply())
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error, timeout), fate_unknown=False) from None
        if code not in (250, 251):
            self._reset(smtp)
            return Reply(code, _text(text))
        before_data()
        try:
            code, text = data or self._answer(smtp.docmd("data"))
            if code != 354:  # DATA itself refused: nothing was sent
                self._reset(smtp)
                return Reply(code, _text(text))
            # until the last byte of the final dot is handed over, the server cannot have taken
            # the message: a loss here is a plain retry
            smtp.send(_dot_stuffed(message) + b".\r\n")
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error, timeout), fate_unknown=False) from None
        try:
            code, text = self._answer(smtp.getreply())
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error, timeout), fate_unknown=True) from None
        if code // 100 != 2:
            self._reset(smtp)
        return Reply(code, _text(text))

    def _envelope(
        self, smtp: smtplib.SMTP, mail_from: str, to: str
    ) -> tuple[tuple[int, bytes], tuple[int, bytes] | None]:
        """MAIL and RCPT: the answer that refused the envelope, else RCPT's; and DATA's answer
        when the server offers PIPELINING (RFC 2920) and DATA went in the same write, one
        round trip instead of three (the message itself still waits for the journal)."""
        if smtp.has_extn("pipelining"):
            smtp.send(
                f"mail FROM:{smtplib.quoteaddr(mail_from)}\r\n"
                f"rcpt TO:{smtplib.quoteaddr(to)}\r\ndata\r\n"
            )
            mail, rcpt, data = (self._answer(smtp.getreply()) for _ in range(3))
            return (mail if mail[0] != 250 else rcpt), data
        mail = self._answer(smtp.mail(mail_from))
        return (mail if mail[0] != 250 else self._answer(smtp.rcpt(to))), None

    def _answer(self, reply: tuple[int, bytes]) -> tuple[int, bytes]:
        """``reply``, unless the deadline cut it short or it is no SMTP answer at all (a
        partial ``2`` read before the cut would otherwise pass for a code)."""
        if self._watchdog.fired:
            raise smtplib.SMTPServerDisconnected(
                f"no complete answer within {self._settings.timeout:g} s"
            )
        if not 200 <= reply[0] <= 599:
            raise smtplib.SMTPServerDisconnected(f"not an SMTP answer: {reply[1][:80]!r}")
        return reply

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """Make the connection ready for the next message after a refusal, or drop it: a server
        that answered 421 has usually hung up, and the answer stands either way."""
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def abort(self) -> None:
        """Cut the message in hand short, from another thread; this sender sends no more."""
        self._aborted = True
        self._watchdog.fire()
        _shut(self._smtp)

    def close(self) -> None:
        """Say goodbye (QUIT, briefly) and close the connection; its watchdog ends with it."""
        smtp, self._smtp = self._smtp, None
        watchdog, self._watchdog = self._watchdog, _Watchdog()
        if smtp is not None and not self._aborted:
            watchdog.arm(smtp, min(self._settings.timeout, 5.0))  # QUIT is a courtesy
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        elif smtp is not None:
            smtp.close()
        watchdog.close()


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


def _describe(error: BaseException, timeout: float) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError) and "within" not in str(
        error
    ):
        return f"{error or type(error).__name__} (or no answer within {timeout:g} s)"
    return str(error) or type(error).__name__
