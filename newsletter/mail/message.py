"""The RFC 5322 message: both parts of an email, its headers, one recipient's merge fields.

``build`` writes one for the sample subscriber (``message.eml``); delivery makes one per
recipient. Text comes before HTML (clients show the last part they understand), both parts are
UTF-8 and quoted-printable so that no line passes 998 octets, the subject is RFC 2047 encoded
when it needs to be, and every message carries one-click unsubscribe headers (RFC 8058).

One recipient's message takes microseconds: the email package takes milliseconds to encode a
40 KB email, fine for one sample but too slow for a list of ten thousand, so a
:class:`MessageTemplate` splits each part at its merge-field tokens once and quoted-printable
encodes every literal piece once, each piece ending in a soft line break (``=`` CRLF, which a
decoder removes) or a real one. Since quoted-printable lines stand alone, a recipient's message
is then those pieces joined with the recipient's own encoded values in between: the bytes a
decoder reads are exactly the text :func:`mergefields.fill` would give.

An SMTP send needs more than the message: DATA carries it dot-stuffed (a line that starts with a
dot gets another, RFC 5321 4.5.2), ends it with a lone dot, and must never carry a bare CR or
LF or a NUL (a lenient relay could read a bare-LF dot as the end of the message). Done on the
finished 42 KB message, the stuffing and the check took 200 us a recipient, more than making
it; since every piece starts a line, :meth:`MessageTemplate.data` stuffs and checks the
template's pieces once, and per recipient only the headers and the values, giving exactly the
bytes :func:`data` makes of :meth:`MessageTemplate.message`'s message.
"""

from __future__ import annotations

import binascii
import datetime as dt
import html
import re
import secrets
from collections.abc import Callable, Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from newsletter.mail.values import sample_values
from newsletter.model import mergefields
from newsletter.model.email import Email
from newsletter.model.settings import Settings
from newsletter.record import Record

if TYPE_CHECKING:
    from email.message import EmailMessage
    from email.policy import EmailPolicy

__all__ = [
    "Data",
    "MessageTemplate",
    "Signer",
    "build_message",
    "data",
    "header_block",
    "headers",
    "plain_header",
    "sample_message",
    "unsafe_line_break",
    "unsubscribe_headers",
]


@lru_cache(maxsize=1)
def _policy() -> EmailPolicy[EmailMessage]:
    """How headers are written: SMTP line endings, folded at 78 columns, and every header
    parsed and refolded ("all") so that a non-ASCII subject or name is RFC 2047 encoded, never
    sent as raw 8-bit bytes. Imported on first use: the email package (with the socket module
    its utilities pull in) is a tenth of a cold build's start-up, and the headers of most
    issues are written as they are (:func:`_fold`)."""
    from email import policy

    return policy.SMTP.clone(refold_source="all")


#: Signs a finished message, returning it with its signature header (DKIM), or as it is.
Signer = Callable[[bytes], bytes]


class _Slot(Record):
    """Where a merge field's value goes, and the encoded fallback for an empty value."""

    name: str
    fallback: bytes


_Piece = bytes | _Slot


class Data(Record):
    """A message as SMTP's DATA carries it: dot-stuffed, ending with the final dot, and without
    a bare CR or LF or a NUL (made only by :func:`data` and :meth:`MessageTemplate.data`)."""

    wire: bytes


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


def _stuffed(piece: bytes) -> bytes:
    """``piece``, which starts a line, with a second dot on each line that starts with one
    (``bytes.replace`` takes microseconds where smtplib's multi-line regular expression took
    half a millisecond on a 45 KB message)."""
    stuffed = piece.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def data(message: bytes) -> Data:
    """``message`` (CRLF line ends) as DATA carries it, the last line ended; ValueError naming
    the first bare CR, bare LF or NUL in it."""
    unsafe = unsafe_line_break(message)
    if unsafe:
        raise ValueError(unsafe)
    stuffed = _stuffed(message)
    return Data((stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n") + b".\r\n")


def _safe_stuffed(piece: bytes) -> bytes | None:
    """``piece`` stuffed, or None when it holds what may not go on the wire."""
    return None if unsafe_line_break(piece) else _stuffed(piece)


def _wire_pieces(pieces: tuple[_Piece, ...]) -> tuple[_Piece, ...] | None:
    """``pieces`` stuffed, fallbacks too (each starts a line), or None when one may not go on
    the wire."""
    out: list[_Piece] = []
    for piece in pieces:
        stuffed: _Piece | None
        if type(piece) is bytes:
            stuffed = _safe_stuffed(piece)
        else:
            assert isinstance(piece, _Slot)
            fallback = _safe_stuffed(piece.fallback)
            stuffed = None if fallback is None else _Slot(piece.name, fallback)
        if stuffed is None:
            return None
        out.append(stuffed)
    return tuple(out)


def _qp(text: str) -> bytes:
    """``text`` quoted-printable with CRLF line ends, ending on a line break of either kind."""
    encoded = binascii.b2a_qp(text.encode(), istext=True)
    if not encoded.endswith(b"\n"):
        encoded += b"=\n"
    return encoded.replace(b"\n", b"\r\n")


def _pieces(text: str) -> tuple[_Piece, ...]:
    text = text if text.endswith("\n") else text + "\n"
    pieces: list[_Piece] = []
    position = 0
    for field in mergefields.find(text):
        if field.start > position:
            pieces.append(_qp(text[position : field.start]))
        pieces.append(_Slot(field.name, _qp(field.fallback) if field.fallback else b""))
        position = field.end
    pieces.append(_qp(text[position:]))
    return tuple(pieces)


#: Printable ASCII words with one space between them, and no encoded word (``=?``) in them.
_WORDS = re.compile(r"(?!.*=\?)[!-~]+(?: [!-~]+)*")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
#: A bare dot-atom address, or a display name of atoms (no specials: never quoted) and one.
_MAILBOX = re.compile(rf"{_ADDRESS}|{_ATOM}(?: {_ATOM})* <{_ADDRESS}>")
#: Headers the email package reads as addresses; the other headers it parses (dates, MIME,
#: message ids) are never written or read without it.
_ADDRESS_HEADERS = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc"})
_STRUCTURED = frozenset(
    {"date", "mime-version", "message-id", "in-reply-to", "references"}
    | {"content-type", "content-disposition", "content-transfer-encoding"}
)


def plain_header(name: str, value: str) -> bool:
    """Whether the email package reads the header ``name: value`` as the very text ``value``
    and writes it back so: plain ASCII words, or for an address header one mailbox of atoms.
    Such headers are written and read without the email package, whose import is a tenth of
    a cold build (tests/test_message.py holds both ways to its bytes on random headers)."""
    lowered = name.lower()
    if lowered in _ADDRESS_HEADERS:
        return _MAILBOX.fullmatch(value) is not None
    return lowered not in _STRUCTURED and _WORDS.fullmatch(value) is not None


@lru_cache(maxsize=64)
def _fold(name: str, value: str) -> bytes:
    """The header line ``name: value``, encoded and folded; kept, as the email package takes
    longer to fold a subject than to fill in a recipient's whole message. A plain header
    (:func:`plain_header`) that fits in 78 columns is written as it is."""
    if len(name) + 2 + len(value) <= 78 and plain_header(name, value):
        return f"{name}: {value}\r\n".encode()
    folded: str = _policy().fold(name, value)
    return folded.encode()


@lru_cache(maxsize=8)
def _sender(name: str, address: str, reply_to: str | None) -> bytes:
    """The ``From`` (and ``Reply-To``) lines of the settings' sender, parsed and folded once."""
    mailbox = f"{name} <{address}>"
    if not plain_header("From", mailbox):
        from email.headerregistry import Address

        mailbox = str(Address(name, addr_spec=address))  # quoted, encoded or refused
    sender = _fold("From", mailbox)
    return sender + _fold("Reply-To", reply_to) if reply_to else sender


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _date(date: dt.datetime) -> str:
    """The ``Date`` header's value (RFC 5322 3.3), as ``email.utils.format_datetime`` writes
    it: English names whatever the locale, and ``-0000`` for a time without a zone."""
    zone = date.strftime("%z") if date.tzinfo is not None else "-0000"
    return (
        f"{_DAYS[date.weekday()]}, {date.day:02d} {_MONTHS[date.month - 1]} {date.year:04d} "
        f"{date.hour:02d}:{date.minute:02d}:{date.second:02d} {zone}"
    )


class MessageTemplate:
    """An :class:`Email` made ready to become one message per recipient, fast."""

    def __init__(self, email: Email, settings: Settings, *, subject_prefix: str = "") -> None:
        nl = settings.newsletter
        self.domain = nl.from_email.rpartition("@")[2]
        self.mail_from = nl.from_email
        self._subject = subject_prefix + email.subject
        self._subject_static = not any(mergefields.find(email.subject))
        self._folded_subject = _fold("Subject", self._subject)
        self._from = _sender(nl.from_name, nl.from_email, nl.reply_to)
        self._mailto = settings.send.unsubscribe_mailto
        boundary = f"=_nl_{secrets.token_hex(12)}"  # "=_" never occurs in quoted-printable
        self._mime = (
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        ).encode()
        part = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        # each part ends with a line break of its own, then the CRLF that belongs to the boundary
        self._text_head = f"--{boundary}\r\n{part.format('plain')}".encode()
        self._html_head = f"\r\n--{boundary}\r\n{part.format('html')}".encode()
        self._end = f"\r\n--{boundary}--\r\n".encode()
        self._text = _pieces(email.text)
        self._html = _pieces(email.html)

    @cached_property
    def _wire(self) -> tuple[tuple[_Piece, ...], tuple[_Piece, ...]] | None:
        """The text and HTML pieces as DATA carries them; None when one of them may not go on
        the wire, which then :func:`data` of the whole message reports with its place. Made by
        the first :meth:`data`: a build's one message (``message.eml``) needs none of it."""
        fixed = (self._from, self._mime, self._text_head, self._html_head, self._end)
        text, html_ = _wire_pieces(self._text), _wire_pieces(self._html)
        safe = all(_safe_stuffed(p) == p for p in fixed) and self._clean_static_head()
        return (text, html_) if safe and text is not None and html_ is not None else None

    def message(
        self,
        to: str,
        values: Mapping[str, str],
        *,
        date: dt.datetime,
        sign: Signer | None = None,
    ) -> bytes:
        """The message to ``to`` (an ASCII address), merge fields filled from ``values``."""
        message = b"".join(
            (
                self._head(to, values, date),
                self._mime,
                self._text_head,
                *_fill(self._text, values, html_escape=False),
                self._html_head,
                *_fill(self._html, values, html_escape=True),
                self._end,
            )
        )
        return sign(message) if sign else message

    def data(
        self,
        to: str,
        values: Mapping[str, str],
        *,
        date: dt.datetime,
        sign: Signer | None = None,
    ) -> Data:
        """:func:`data` of :meth:`message`, without stuffing and checking the whole message:
        only the headers and the values are new per recipient. A signed message (the signature
        covers the whole) or one whose headers or values may not go on the wire is made whole
        and given to :func:`data`, which names what is wrong and where."""
        # quoted-printable of text without CR, LF or NUL never holds one, and header lines start
        # with a name or folding white space, never a dot: only the values need stuffing
        clean = _clean(to) and all(_clean(value) for value in values.values())
        if sign is None and self._wire is not None and clean:
            text, html_ = self._wire
            return Data(
                b"".join(
                    (
                        self._head(to, values, date),
                        self._mime,
                        self._text_head,
                        *_fill(text, values, html_escape=False, wire=True),
                        self._html_head,
                        *_fill(html_, values, html_escape=True, wire=True),
                        self._end,
                        b".\r\n",
                    )
                )
            )
        return data(self.message(to, values, date=date, sign=sign))

    def _clean_static_head(self) -> bool:
        return _clean(self._subject) and _clean(self._mailto or "")

    def _head(self, to: str, values: Mapping[str, str], date: dt.datetime) -> bytes:
        """The headers that differ per message: From, To, Subject, Date, Message-ID, and the
        unsubscribe headers."""
        if self._subject_static:
            subject = self._folded_subject
        else:
            filled = mergefields.fill(self._subject, values, html_escape=False)
            subject = _policy().fold("Subject", filled).encode()  # one per recipient: not kept
        head = [
            self._from,
            b"To: " + to.encode() + b"\r\n",
            subject,
            b"Date: " + _date(date).encode() + b"\r\n",
            # 128 random bits: unique without the time and process number make_msgid shows
            f"Message-ID: <{secrets.token_hex(16)}@{self.domain}>\r\n".encode(),
        ]
        url = values.get("unsubscribe_url", "")
        for name, value in unsubscribe_headers(url, self._mailto, separator=",\r\n "):
            head.append(f"{name}: {value}\r\n".encode())
        return b"".join(head)


def unsubscribe_headers(
    url: str, mailto: str | None, *, separator: str = ", "
) -> list[tuple[str, str]]:
    """The one-click unsubscribe headers (RFC 2369, RFC 8058) of one recipient's message:
    ``List-Unsubscribe`` with their signed ``url`` and the ``mailto`` address (``separator``
    between them: a message folds the line there), and ``List-Unsubscribe-Post`` when there is
    a URL to post to. Shared by the messages made here and the ESP sends that pass headers per
    recipient (SES's ``ReplacementHeaders``), so that both carry the same two headers."""
    targets = [f"<{url}>"] if url else []
    if mailto:
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    found = [("List-Unsubscribe", separator.join(targets))] if targets else []
    if url:
        found.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return found


def _fill(
    pieces: tuple[_Piece, ...], values: Mapping[str, str], *, html_escape: bool, wire: bool = False
) -> list[bytes]:
    """``pieces`` with each slot's value (or fallback), quoted-printable; with ``wire``, pieces
    already stuffed, and each value stuffed as it is filled in."""
    out: list[bytes] = []
    for piece in pieces:
        if type(piece) is bytes:
            out.append(piece)
            continue
        assert isinstance(piece, _Slot)
        value = values.get(piece.name, "")
        if not value:
            out.append(piece.fallback)
            continue
        encoded = _qp(html.escape(value) if html_escape else value)
        out.append(_stuffed(encoded) if wire else encoded)
    return out


def _clean(text: str) -> bool:
    """Whether ``text`` has no CR, LF or NUL (three scans in C, where a search by regular
    expression steps through the text in Python's engine)."""
    return "\r" not in text and "\n" not in text and "\0" not in text


def build_message(
    email: Email,
    settings: Settings,
    *,
    to: str,
    values: Mapping[str, str],
    date: dt.datetime,
    subject_prefix: str = "",
) -> bytes:
    """One recipient's message, merge fields filled from ``values``."""
    template = MessageTemplate(email, settings, subject_prefix=subject_prefix)
    return template.message(to, values, date=date)


def sample_message(email: Email, settings: Settings, *, date: dt.datetime) -> bytes:
    """The message to the sample subscriber of ``[send.sample]``: ``message.eml``, the eml
    export, and the headers the checks look at."""
    values = sample_values(settings, email.slug)
    return build_message(
        email, settings, to=values["email"] or "subscriber@example.com", values=values, date=date
    )


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")  # where the headers end


def header_block(message: bytes) -> bytes:
    """The header lines of ``message``, the body cut off (without the blank line)."""
    return _BLANK_LINE.split(message, maxsplit=1)[0]


def headers(message: bytes) -> EmailMessage:
    """The headers of ``message``, parsed; the body is cut off first, which the parser would
    otherwise read line by line only to skip (most of the time a check took)."""
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesHeaderParser

    head = header_block(message)
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(head + b"\r\n\r\n")
    assert isinstance(parsed, EmailMessage)
    return parsed
