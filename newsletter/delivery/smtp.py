"""The sender: one SMTP connection, reused across messages, behind a one-method interface.

Delivery talks to a :class:`Sender` (``send``, and ``close`` when done) so that the same
orchestration drives the real :class:`SmtpSender` and, in principle, any other transport: the
way httpx's client takes a transport. ``send`` splits the SMTP transaction where the journal
needs it: MAIL and RCPT first (a refusal there means the message certainly was not sent), then
``before_data()`` (the journal marks the recipient "sending"), then DATA. A server that offers
PIPELINING (RFC 2920; Postfix, Exim and the ESPs' relays do) gets MAIL, RCPT and DATA in one
write, and the message after ``before_data()``: the journal still knows of the message before
the server can have taken it. With ``following``, the next message's MAIL, RCPT and DATA go in
the same write as this message's final dot, so that a message costs one round trip, not two;
``meanwhile`` is the caller's moment to make that next message while the server reads this
one. A connection lost
before the final dot was handed over is :class:`ConnectionLost` with ``fate_unknown=False``
(the server cannot have taken a message it never saw the end of: send again); lost while
waiting for the answer to the final dot, the message may or may not have been taken, and
``fate_unknown=True`` says so. A 4xx or 5xx answer is a :class:`Reply` whatever the state of
the connection after it (a server that says 421 and hangs up has said "try later").

smtplib opens the connection (connect, EHLO, STARTTLS, AUTH) and says goodbye; the messages go
over its socket directly, each transaction's commands and message in one write of bytes made
before (:class:`~newsletter.mail.message.Data`: already dot-stuffed and checked), and the
answers read in bulk and parsed here, every code checked: smtplib's per-command calls, its
address parser and its line-by-line reading cost more than the rest of a message together.

Every message has a total deadline, ``[smtp] timeout`` seconds from MAIL to the answer to the
final dot (and a connection as long to connect, greet, start TLS and log in): a watchdog shuts
the socket down when the deadline passes, which a server that trickles a byte a second cannot
put off as it would a timeout of each read. Once the connection is set up the socket blocks
without a timeout of its own, the watchdog its only bound: a socket with a timeout polls before
every read and write, two system calls a message more. :meth:`SmtpSender.abort` shuts it down
at once, for Ctrl-C. Nothing with a CR, LF or NUL where it does not belong reaches the
server: an envelope address with one, or a message with a bare CR or LF or a NUL (which a
lenient relay could read as the end of the message and the start of another), is refused
before MAIL.

No error message here contains the password: it is read from the environment variable that
``[smtp] password_env`` names and handed only to ``login``.
"""

from __future__ import annotations

import contextlib
import functools
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from newsletter.delivery.recipients import check_address
from newsletter.errors import NewsletterError
from newsletter.mail.message import Data, data
from newsletter.model.settings import SmtpSettings

__all__ = [
    "Abortable",
    "ConnectionLost",
    "Reply",
    "Sender",
    "SmtpSender",
    "default_port",
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
    """Sends one message to one recipient; see the module's docstring. ``following`` names the
    recipient of the next message, whose envelope may go in the same write as this message;
    ``meanwhile`` is called once this message is on its way, before its answer is read."""

    def send(
        self,
        mail_from: str,
        to: str,
        message: bytes | Data,
        before_data: Callable[[], None],
        *,
        following: str | None = None,
        meanwhile: Callable[[], None] = ...,
    ) -> Reply: ...

    def close(self) -> None: ...


@runtime_checkable
class Abortable(Protocol):
    """A sender that can cut short what it is doing from another thread (Ctrl-C): the message
    in hand ends at once, as if the connection had been lost."""

    def abort(self) -> None: ...


def _nothing() -> None:
    pass


def _one_line(address: str) -> bool:
    """Whether an envelope address is free of CR, LF and NUL: what else could end its command."""
    return "\r" not in address and "\n" not in address and "\0" not in address


def _quoted(address: str) -> str:
    """``<address>``, as ``smtplib.quoteaddr`` makes it; an address a list may hold (a
    dot-atom at a domain, which its parser gives back as it is) without that parser, which took
    15 us an address."""
    return f"<{address}>" if check_address(address) is None else smtplib.quoteaddr(address)


def _envelope(mail_from: str, to: str) -> bytes:
    """MAIL, RCPT and DATA in one write (RFC 2920)."""
    return f"MAIL FROM:{_quoted(mail_from)}\r\nRCPT TO:{_quoted(to)}\r\nDATA\r\n".encode()


#: Bytes read from the server at once, and the most an answer line may take.
_MAX_ANSWER = 65536


class _Watchdog:
    """Shuts a connection's socket down when its deadline passes (or at once, on abort).

    Its thread is woken by :meth:`arm` only when it would otherwise wake too late: deadlines
    only move on, so while messages follow each other it wakes once a deadline's length, not
    once a message (a wake-up per message cost the sender as much as making the message)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._deadline: float | None = None
        self._target: smtplib.SMTP | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._wakes: float | None = None  # when the thread wakes by itself; None: never
        self.fired = False  # the last armed connection was cut: what it read since is partial

    def arm(self, smtp: smtplib.SMTP, seconds: float) -> None:
        with self._changed:
            self.fired = False
            self._target, self._deadline = smtp, time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()
            if self._wakes is None or self._wakes > self._deadline:
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
                    self._wakes = None
                    self._changed.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._wakes = self._deadline
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
    the send stops with every unsent recipient left to the next run. ``tls`` gives the TLS
    settings, asked for only when a connection starts TLS: loading the system's certificate
    authorities takes some 20 ms, which the senders of one send share (see
    :func:`~newsletter.delivery.plan.smtp_connector`) and a connection without TLS never spends.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None,
        *,
        tls: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        self._settings = settings
        self._password = password
        self._tls = tls  # asked only when the connection starts TLS
        self._smtp: smtplib.SMTP | None = None
        self._sock: socket.socket | None = None  # the connection's, once set up
        self._pipelining = False
        self._buffer = bytearray()  # what the server sent that is not read yet
        self._ahead: tuple[str, str] | None = None  # an envelope sent ahead, answers unread
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
            smtp = smtplib.SMTP_SSL(local_hostname=_fqdn(), timeout=s.timeout, context=self._tls())
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
                smtp.starttls(context=self._tls())
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
        sock = smtp.sock
        assert sock is not None  # connected
        sock.settimeout(None)  # the watchdog bounds every message (see the module's docstring)
        self._smtp, self._sock = smtp, sock
        self._pipelining = smtp.has_extn("pipelining")
        return smtp

    def send(
        self,
        mail_from: str,
        to: str,
        message: bytes | Data,
        before_data: Callable[[], None],
        *,
        following: str | None = None,
        meanwhile: Callable[[], None] = _nothing,
    ) -> Reply:
        for address in (mail_from, to):
            if not _one_line(address):
                raise NewsletterError(f"refusing to send to {address!r}: a line break in it")
        if isinstance(message, Data):
            wire = message.wire
        else:
            try:
                wire = data(message).wire
            except ValueError as unsafe:
                raise NewsletterError(
                    f"refusing to send the message to {to}: it holds {unsafe}, which a relay "
                    "may read as the end of the message"
                ) from None
        if self._ahead is not None and self._ahead != (mail_from, to):
            self._drop()  # an envelope sent ahead for another message: only a hang-up ends it
        smtp = self._connect()
        self._watchdog.arm(smtp, self._settings.timeout)
        try:
            ahead = (mail_from, following) if following and _one_line(following) else None
            return self._transaction(mail_from, to, wire, before_data, ahead, meanwhile)
        finally:
            self._watchdog.disarm()

    def _transaction(
        self,
        mail_from: str,
        to: str,
        wire: bytes,
        before_data: Callable[[], None],
        ahead: tuple[str, str] | None,
        meanwhile: Callable[[], None],
    ) -> Reply:
        timeout = self._settings.timeout
        try:
            (code, text), data_reply = self._envelope(mail_from, to)
            if code not in (250, 251) and data_reply is not None and data_reply[0] == 354:
                self._write(b".\r\n")  # DATA was taken with no recipient: end it, empty
                self._replies(1)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error, timeout), fate_unknown=False) from None
        if code not in (250, 251):
            self._reset()
            return Reply(code, _text(text))
        try:
            before_data()
        except BaseException:  # a server that said 354 waits for a message: only a hang-up ends it
            self._drop()
            raise
        try:
            code, text = data_reply or self._command(b"DATA\r\n")
            if code != 354:  # DATA itself refused: nothing was sent
                self._reset()
                return Reply(code, _text(text))
            # until the last byte of the final dot is handed over, the server cannot have taken
            # the message: a loss here is a plain retry. The next message's envelope may go in
            # the same write (RFC 2920: DATA ends a group, a message may start the next one)
            if ahead is not None and self._pipelining:
                self._write(wire + _envelope(*ahead))
                self._ahead = ahead
            else:
                self._write(wire)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error, timeout), fate_unknown=False) from None
        meanwhile()  # the caller's work while the server reads the message
        try:
            ((code, text),) = self._replies(1)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionLost(_describe(error, timeout), fate_unknown=True) from None
        if code == 421:  # the server closes the connection (RFC 5321 3.8)
            self.close()
        return Reply(code, _text(text))

    def _envelope(
        self, mail_from: str, to: str
    ) -> tuple[tuple[int, bytes], tuple[int, bytes] | None]:
        """MAIL and RCPT: the answer that refused the envelope, else RCPT's; and DATA's answer
        when the server offers PIPELINING (RFC 2920) and DATA went in the same write (one
        round trip instead of three; the message itself still waits for the journal), or with
        the message before."""
        if self._ahead == (mail_from, to):
            self._ahead = None
        elif self._pipelining:
            self._write(_envelope(mail_from, to))
        else:
            mail = self._command(f"MAIL FROM:{_quoted(mail_from)}\r\n".encode())
            if mail[0] != 250:
                return mail, None
            return self._command(f"RCPT TO:{_quoted(to)}\r\n".encode()), None
        mail, rcpt, data_reply = self._replies(3)
        return (mail if mail[0] != 250 else rcpt), data_reply

    def _write(self, data: bytes) -> None:
        assert self._sock is not None
        self._sock.sendall(data)

    def _command(self, line: bytes) -> tuple[int, bytes]:
        self._write(line)
        return self._replies(1)[0]

    def _replies(self, count: int) -> list[tuple[int, bytes]]:
        """The next ``count`` answers, read in as few reads as the server's writes allow and
        parsed as smtplib's ``getreply`` does (the code, and the lines' text joined by LF);
        SMTPServerDisconnected when the connection ends first, the deadline cut it, or what
        came is no SMTP answer (a partial ``2`` read before a cut never passes for a code)."""
        assert self._sock is not None
        buffer, position = self._buffer, 0
        found: list[tuple[int, bytes]] = []
        lines: list[bytes] = []
        while len(found) < count:
            end = buffer.find(b"\n", position)
            if end < 0:
                del buffer[:position]
                position = 0
                if len(buffer) > _MAX_ANSWER:
                    raise smtplib.SMTPServerDisconnected("an answer line over 64 KB")
                chunk = self._sock.recv(_MAX_ANSWER)
                if self._watchdog.fired:
                    raise smtplib.SMTPServerDisconnected(
                        f"no complete answer within {self._settings.timeout:g} s"
                    )
                if not chunk:
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                buffer += chunk
                continue
            line = bytes(buffer[position : end + 1])
            position = end + 1
            code = line[:3]
            if not code.isdigit() or not 200 <= int(code) <= 599:
                raise smtplib.SMTPServerDisconnected(f"not an SMTP answer: {line[:80]!r}")
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                found.append((int(code), b"\n".join(lines)))
                lines = []
        del buffer[:position]
        return found

    def _reset(self) -> None:
        """Make the connection ready for the next message after a refusal, or drop it: a server
        that answered 421 has usually hung up, and the answer stands either way."""
        try:
            self._command(b"RSET\r\n")
        except (OSError, smtplib.SMTPException):
            self.close()

    def _drop(self) -> None:
        """Close the connection without a word: an envelope sent ahead may have been answered
        354, and then anything more would be read as the message."""
        smtp, self._smtp, self._sock, self._ahead = self._smtp, None, None, None
        self._buffer.clear()
        if smtp is not None:
            smtp.close()

    def abort(self) -> None:
        """Cut the message in hand short, from another thread; this sender sends no more."""
        self._aborted = True
        self._watchdog.fire()
        _shut(self._smtp)

    def close(self) -> None:
        """Say goodbye (QUIT, briefly) and close the connection; its watchdog ends with it.
        With an envelope sent ahead there is no goodbye: the server may be reading a message."""
        if self._ahead is not None:
            self._drop()
        smtp, self._smtp, self._sock = self._smtp, None, None
        self._buffer.clear()
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
