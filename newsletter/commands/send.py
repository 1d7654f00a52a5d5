"""``newsletter send``: test sends, resumable list sends, and where a list send stands.

The whole journal protocol lives here, in plain functions that return reports and never print:

1. build the issue in memory and read the whole list (strictly: a broken CSV stops here);
   refuse (``preflight``) on check errors, list problems or a missing unsubscribe link, unless
   ``force`` lets the editor's own mistakes through; a list send also needs the unsubscribe
   secret, which no ``force`` replaces;
2. open the workspace's journal (one send per workspace at a time) and make sure this issue's
   identity (a hash of its subject and both parts, its slug left out) is the one the journal
   knows by its slug: a different issue with a reused slug, this issue sent before under
   another slug (the file renamed or copied), or this issue started from another workspace's
   journal, is refused with what to do, never mistaken for a finished send;
3. hand the :class:`SendSummary` (subject, From, server, rows read, who will get it, findings)
   to ``confirm``, the caller's say-so (the command line asks on a terminal); only then write
   the journal: mark what a killed run left "sending" as unknown, add the list's new
   recipients as pending, and send to everyone not yet sent, failed or (unless
   ``resend_unknown``) unknown.

After the list is checked whole, the summary, the journal and an ESP's send read it again a
chunk at a time (:data:`_CHUNK` recipients, their states asked of the journal for that chunk
only), so that a list send through an ESP takes the same memory for 10,000 subscribers as for
100,000; an SMTP send still makes its deliveries all at once.

A :class:`Transport` factory is injected (default: SMTP from ``[smtp]``), so that callers and
tests can put any sender behind the same journal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import IO, Any, Protocol

import click

from newsletter.commands.gate import blocking, list_send_errors
from newsletter.commands.via import esp_transport, send_via
from newsletter.delivery.batches import batched
from newsletter.delivery.journal import STATES, Journal, JournalRow, started_elsewhere
from newsletter.delivery.plan import (
    journal_path,
    journal_to_read,
    list_deliveries,
    other_journals,
    smtp_connector,
    smtp_description,
    test_deliveries,
    unsubscribe_secret,
)
from newsletter.delivery.recipients import RecipientList, parse_addresses, read_recipients
from newsletter.delivery.send import Delivery, Outcome, Report, deliver
from newsletter.delivery.signing import dkim_signer
from newsletter.delivery.smtp import Sender
from newsletter.delivery.transport import BatchTransport
from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.mail.message import MessageTemplate, Signer
from newsletter.mail.values import SAMPLE_SECRET
from newsletter.model.artifact import Artifact
from newsletter.model.email import Email
from newsletter.model.findings import Finding
from newsletter.model.settings import Settings
from newsletter.model.workspace import Workspace
from newsletter.pipeline.load import load_issue
from newsletter.pipeline.stages import build_issue

__all__ = [
    "Confirm",
    "Connector",
    "Progress",
    "Refused",
    "SendReport",
    "SendSummary",
    "StatusReport",
    "identity",
    "list_send",
    "preflight",
    "send_status",
    "test_send",
]

#: Makes one connection's sender; called once per parallel connection.
Connector = Callable[[], Sender]


@dataclass(frozen=True)
class SendSummary:
    """What a list send is about to do, for the editor to confirm before it is irreversible.

    ``rows`` is how many rows the list has, ``listed`` how many of them are sendable
    recipients, ``recipients`` how many will be sent the issue by this run (the rest were
    sent it before, refused it or are of unknown fate: ``done``).
    """

    issue: str
    subject: str
    sender: str
    server: str
    rows: int
    listed: int
    recipients: int
    done: int
    findings: tuple[Finding, ...]
    forced: tuple[Problem, ...]
    notes: tuple[str, ...]


#: Asked once before a list send's first message; the send goes ahead only on True.
Confirm = Callable[[SendSummary], bool]


class Progress(Protocol):
    """Told how many messages a list send sets out to send, then of each outcome as it comes
    (a progress bar, a log)."""

    def start(self, total: int) -> None: ...

    def advance(self, outcome: Outcome) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def advance(self, outcome: Outcome) -> None:
        pass


class Refused(ProblemsError):
    """The problems that stopped a send before its first message."""

    def __init__(self, problems: Sequence[Problem], hint: str) -> None:
        super().__init__(problems)
        self.hint = hint

    def show(self, file: IO[Any] | None = None) -> None:
        super().show(file)
        click.echo(f"nothing was sent{self.hint}", file=file, err=file is None)


@dataclass
class SendReport:
    """What a send did: the outcomes, the notes an editor should read, and whether it failed.

    ``planned`` is how many messages this run set out to send; ``dry_run_bytes`` is the size of
    the messages a dry run made (nothing was sent then). ``findings`` are the issue's check
    findings (errors and warnings) for the editor to read; ``left`` are the recipients an
    earlier run failed or lost track of, when this one had nothing left to send;
    ``interrupted`` says Ctrl-C stopped the send (the outcomes are what was learnt until then).
    """

    outcomes: list[Outcome] = field(default_factory=list)
    planned: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    forced: list[Problem] = field(default_factory=list)
    findings: tuple[Finding, ...] = ()
    nothing_left: bool = False
    left: list[JournalRow] = field(default_factory=list)
    unknown_skipped: int = 0
    interrupted: bool = False
    dry_run_bytes: int | None = None
    #: a test send's subject, as the recipients see it, and the server it went through
    subject: str = ""
    server: str = ""
    #: outcomes counted rather than kept (:class:`~newsletter.delivery.send.Report`)
    tallied: Counter[str] = field(default_factory=Counter)

    def count(self, state: str) -> int:
        return self.tallied[state] + sum(1 for outcome in self.outcomes if outcome.state == state)

    @property
    def ok(self) -> bool:
        """Every message sent, nobody failed or of unknown fate left behind, not interrupted."""
        return (
            not self.unknown_skipped
            and not self.left
            and not self.interrupted
            and all(o.state == "sent" for o in self.outcomes)
        )


@dataclass(frozen=True)
class StatusReport:
    """Where the list send of one issue stands."""

    slug: str
    counts: dict[str, int]
    rows: list[JournalRow]

    @property
    def started(self) -> bool:
        return any(self.counts.values())


def identity(email: Email, slug: str = "") -> str:
    """What the journal knows an issue by besides its slug: a hash of what subscribers get,
    with the slug itself left out (it is in the links' ``utm_campaign`` and the web version's
    URL), so that the same issue renamed or copied under another file name is known again."""
    digest = hashlib.sha256()
    for part in (email.subject, email.text, email.html):
        digest.update((part.replace(slug, "\0") if slug else part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def preflight(
    artifact: Artifact | None,
    build_problems: Sequence[Problem],
    list_problems: Sequence[Problem],
    settings: Settings,
    *,
    force: bool,
    list_send: bool = True,
) -> list[Problem]:
    """Raise :class:`Refused` when a send must not start; else return the problems ``force``
    let through, for the report.

    What no export or send may carry (:func:`~newsletter.commands.gate.blocking`) is refused
    whatever ``force`` says. A list send refuses every error and placeholder unless ``force``,
    and, whatever ``force`` says, a missing unsubscribe link: without one it would break the
    law in many places and Gmail's and Yahoo's sender rules. A test send (not ``list_send``)
    refuses the findings of severity error unless ``force``.
    """
    if list_send and not settings.send.unsubscribe_url:
        raise ProblemsError(
            [
                Problem(
                    "newsletter.toml",
                    "send.unsubscribe_url",
                    "a list send needs a per-subscriber unsubscribe link ({token} or {email})",
                )
            ]
        )
    problems = [*build_problems, *list_problems]
    if artifact is not None:
        refused = blocking(artifact)
        if refused:
            raise Refused([*problems, *refused], ": fix them first (no --force sends these)")
        if list_send:
            problems += list_send_errors(artifact)
        else:  # nothing blocking is left: these are the other errors
            problems += [
                Problem(f.location or artifact.display, f"check {f.id}", f.message)
                for f in artifact.errors()
            ]
    if problems and (not force or artifact is None):
        raise Refused(
            problems, "" if artifact is None else ": fix them, or send anyway with --force"
        )
    return problems


def test_send(
    workspace: Workspace,
    issue: Path,
    to: Sequence[str],
    *,
    data: dict[str, str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    connect: Connector | None = None,
) -> SendReport:
    """Send ``issue`` to ``to`` as the sample subscriber (``data`` overriding some values),
    the subject prefixed with ``[send] test_prefix``.

    An issue with a check error is refused (:class:`Refused`) unless ``force``: a test send is
    how an editor looks at what subscribers will get, and it must not look fine when it is not.
    The unsubscribe link is signed as a real send signs it, with the real secret when it is in
    the environment, else with the sample secret.
    """
    addresses, problems = parse_addresses(to)
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="'--to'")
    settings = workspace.settings
    result = build_issue(issue, workspace)
    forced = preflight(result.artifact, result.problems, [], settings, force=force, list_send=False)
    artifact = result.artifact
    assert artifact is not None  # preflight refuses a build that failed
    secret = unsubscribe_secret(settings, required=False)
    deliveries = test_deliveries(settings, artifact.slug, addresses, data or {}, secret=secret)
    template = MessageTemplate(artifact.email, settings, subject_prefix=settings.send.test_prefix)
    sign = dkim_signer(settings, workspace.root)
    if dry_run:
        report = _dry_run(template, deliveries, sign)
    else:
        report = _deliver(
            workspace,
            deliveries,
            template,
            sign,
            connect or smtp_connector(settings),
            connections=1,
        )
    report.forced = forced
    report.findings = _worth_reading(artifact)
    report.subject = settings.send.test_prefix + artifact.email.subject
    report.server = smtp_description(settings)
    return report


def _worth_reading(artifact: Artifact) -> tuple[Finding, ...]:
    return tuple(f for f in artifact.findings if f.severity in ("error", "warning"))


def list_send(
    workspace: Workspace,
    issue: Path,
    subscribers: Path,
    *,
    dry_run: bool = False,
    force: bool = False,
    resend_unknown: bool = False,
    changed: bool = False,
    confirm: Confirm | None = None,
    server: str | None = None,
    connect: Connector | None = None,
    progress: Progress | None = None,
    via: str | None = None,
) -> SendReport:
    """Send ``issue`` to every subscriber of the CSV ``subscribers``, journaled: run it again
    after any interruption and it resumes, sending nobody the issue twice.

    ``via`` names an ESP whose bulk API sends instead of ``[smtp]`` (:mod:`.via`).

    ``confirm`` is shown the :class:`SendSummary` before the first message, and the send goes
    ahead only when it returns True (None: no one to ask, the caller has decided, as
    ``--yes``); ``server`` names where ``connect`` sends, for the summary (default: ``[smtp]``).
    ``changed`` resumes a send although the issue's content differs from what the journal
    recorded for its slug (a typo fixed half-way); without it such a send is refused.
    """
    settings = workspace.settings
    try:
        listed = read_recipients(subscribers, display=workspace.display(subscribers))
    except ProblemsError as broken:  # the list as a whole cannot be trusted: no --force
        raise Refused(broken.problems, ": fix the list (--force does not skip these)") from None
    result = build_issue(issue, workspace)
    forced = preflight(result.artifact, result.problems, listed.problems, settings, force=force)
    artifact = result.artifact
    assert artifact is not None  # preflight refuses a build that failed
    template = MessageTemplate(artifact.email, settings)
    sign = dkim_signer(settings, workspace.root)
    slug, path = artifact.slug, journal_path(workspace)
    if dry_run:
        return _list_dry_run(workspace, artifact, listed, template, sign, forced, resend_unknown)
    secret = unsubscribe_secret(settings, required=True)
    assert secret is not None  # required: raised when missing
    sender = esp_transport(via, artifact, workspace) if via else None
    connector = None if sender else (connect or smtp_connector(settings))
    ident = identity(artifact.email, slug)
    again = {"pending", "deferred", "unknown"} if resend_unknown else {"pending", "deferred"}
    try:
        with Journal(path, workspace=workspace.root.resolve()) as journal:
            replace = _claimable(journal, slug, ident, artifact.display, changed=changed)
            if replace is False:  # new to this journal: new to every other one too?
                _not_started_elsewhere(workspace, ident, artifact.display)
            known = journal.counts(slug)
            stopped = known["sending"]
            tally, left_keys = _tally(journal, slug, listed, fresh=not any(known.values()))
            unknown, before, to_send = (
                tally["unknown"],
                tally["sent"],
                sum(n for state, n in tally.items() if state in again),
            )
            notes = _resume_notes(
                slug,
                stopped=stopped,
                unknown=unknown,
                before=before,
                to_send=to_send,
                resend_unknown=resend_unknown,
            )
            if not to_send:
                left = [
                    r
                    for r in journal.rows(slug, ("failed", "unknown", "sending"))
                    if r.recipient in left_keys
                ]
                report = SendReport(nothing_left=True, planned=listed.count, left=left)
            else:
                summary = SendSummary(
                    issue=artifact.display,
                    subject=artifact.email.subject,
                    sender=f"{settings.newsletter.from_name} <{settings.newsletter.from_email}>",
                    server=server or (f"the {via} API" if via else smtp_description(settings)),
                    rows=listed.rows,
                    listed=listed.count,
                    recipients=to_send,
                    done=listed.count - to_send,
                    findings=_worth_reading(artifact),
                    forced=tuple(forced),
                    notes=tuple(notes),
                )
                if confirm is not None and not confirm(summary):
                    raise NewsletterError("not confirmed: nothing was sent")
                if replace is not None:
                    journal.claim(slug, ident, artifact.display, replace=replace)
                journal.recover(slug)
                journal.add(slug, (r.key for r in listed))
                progress = progress or _Silent()
                progress.start(to_send)
                deliveries = _deliveries(
                    journal,
                    settings,
                    slug,
                    listed,
                    resend_unknown=resend_unknown,
                    secret=secret,
                    links=sender.personal_links if sender else True,
                )
                handed, sender = sender, None  # send_via closes it, whatever happens
                report = _send_all(
                    workspace,
                    journal,
                    deliveries,
                    handed,
                    (template, sign, connector),
                    issue=slug,
                    planned=to_send,
                    on_outcome=progress.advance,
                )
    finally:
        if sender is not None:  # never handed to send_via: nothing was sent through it
            sender.close()
    report.notes[:0] = notes
    report.forced = forced
    report.findings = _worth_reading(artifact)
    report.unknown_skipped = 0 if resend_unknown else unknown
    return report


def _send_all(
    workspace: Workspace,
    journal: Journal,
    deliveries: Iterable[Delivery],
    sender: BatchTransport | None,
    smtp: tuple[MessageTemplate, Signer | None, Connector | None],
    *,
    issue: str,
    planned: int,
    on_outcome: Callable[[Outcome], None],
) -> SendReport:
    """Hand the deliveries to an ESP's bulk API (``sender``, which this closes) or, without
    one, to ``[smtp]`` (the message template, its signer and the connector)."""
    if sender is not None:
        sent = send_via(
            workspace, deliveries, sender, journal=journal, issue=issue, on_outcome=on_outcome
        )
        return SendReport(
            sent.outcomes, planned=planned, seconds=sent.seconds, tallied=sent.tallied
        )
    template, sign, connector = smtp
    assert connector is not None  # made whenever no ESP sends
    return _deliver(
        workspace,
        list(deliveries),
        template,
        sign,
        connector,
        journal=journal,
        issue=issue,
        on_outcome=on_outcome,
    )


def _resume_notes(
    slug: str, *, stopped: int, unknown: int, before: int, to_send: int, resend_unknown: bool
) -> list[str]:
    """What the editor should know before a send that follows an earlier one of ``slug``:
    one that stopped half-way, recipients of unknown fate, and how far it got."""
    notes = []
    if stopped:
        notes.append(f"an earlier send of {slug} stopped during {stopped} message(s)")
    if unknown and not resend_unknown:
        notes.append(
            f"{unknown} recipient(s) of unknown fate are not sent again: their message may "
            "or may not have reached the server; see 'newsletter send ISSUE --status', "
            "check your server's log, and pass --resend-unknown to send to them (which "
            "sends a second copy to everyone the server did take it from)"
        )
    elif unknown:
        notes.append(
            f"--resend-unknown: {unknown} recipient(s) of unknown fate are sent the issue "
            "again; those whose first message did reach the server get it twice"
        )
    if to_send and before:
        notes.append(f"resuming: {before} already sent, {to_send} to send")
    return notes


#: How many of a list's recipients a send reads from the journal, or makes values for, at once.
_CHUNK = 1000


def _tally(
    journal: Journal, slug: str, listed: RecipientList, *, fresh: bool
) -> tuple[Counter[str], set[str]]:
    """How many of the list's recipients are in each state of the journal (new ones pending,
    those a killed run left "sending" unknown), and which of them an earlier run failed or lost
    track of; read a chunk of the list at a time, or not at all for an issue the journal has
    no recipient of yet (``fresh``): they are all pending."""
    tally: Counter[str] = Counter()
    left: set[str] = set()
    if fresh:
        tally["pending"] = listed.count
        return tally, left
    for chunk in batched(listed, _CHUNK):
        recorded = journal.states_of(slug, [r.key for r in chunk])
        for recipient in chunk:
            state = recorded.get(recipient.key, "pending")
            tally["unknown" if state == "sending" else state] += 1
            if state in ("failed", "unknown", "sending"):
                left.add(recipient.key)
    return tally, left


def _deliveries(
    journal: Journal,
    settings: Settings,
    slug: str,
    listed: RecipientList,
    *,
    resend_unknown: bool,
    secret: str,
    links: bool,
) -> Iterator[Delivery]:
    """The deliveries of a list send, in list order, made a chunk at a time as the send asks
    for them, each chunk's states read from the journal then (:func:`list_deliveries`)."""
    for chunk in batched(listed, _CHUNK):
        states = journal.states_of(slug, [r.key for r in chunk])
        yield from list_deliveries(
            settings, slug, chunk, states, resend_unknown=resend_unknown, secret=secret, links=links
        )


def _list_dry_run(
    workspace: Workspace,
    artifact: Artifact,
    listed: RecipientList,
    template: MessageTemplate,
    sign: Signer | None,
    forced: list[Problem],
    resend_unknown: bool,
) -> SendReport:
    """Make every message the list send would, send none, write nothing; say what the real
    send still needs (the unsubscribe secret)."""
    settings = workspace.settings
    path = journal_path(workspace)
    states: dict[str, str] = {}
    if path.exists():
        with Journal(path, exclusive=False) as journal:
            states = journal.states(artifact.slug)
    notes: list[str] = []
    try:
        secret = unsubscribe_secret(settings, required=True) or SAMPLE_SECRET
    except NewsletterError as missing:
        secret = SAMPLE_SECRET
        notes.append(f"the real send will refuse to start: {missing.format_message()}")
    deliveries = list_deliveries(
        settings,
        artifact.slug,
        listed.recipients,
        states,
        resend_unknown=resend_unknown,
        secret=secret,
    )
    report = _dry_run(template, deliveries, sign)
    done = listed.count - len(deliveries)
    report.notes = [
        f"{listed.rows} rows read",
        *([f"{done} already done, see --status"] if done else []),
        *notes,
    ]
    report.forced = forced
    report.findings = _worth_reading(artifact)
    return report


def _claimable(
    journal: Journal, slug: str, ident: str, source: str, *, changed: bool
) -> bool | None:
    """Whether the journal may know ``slug`` as this issue: None when it does already, False
    when ``slug`` is new to it, True when ``changed`` replaces an edited issue's identity; or
    refuse with what to do. Writes nothing: the claim is made once the send is confirmed."""
    known = journal.identity(slug)
    if known is None:
        other = journal.slug_of(ident)
        if other is not None and other.slug != slug:
            raise NewsletterError(
                f"{source}: this issue was already sent as '{other.slug}' (from {other.source}, "
                f"{other.created}), renamed or copied since; resume it under that slug "
                f"(slug: {other.slug} in the file) rather than send it to the list again"
            )
        return False
    if known.identity == ident:
        return None
    if not changed:
        raise NewsletterError(
            f"{source}: a different issue was sent as '{slug}' (from {known.source}, "
            f"{known.created}); give this one a slug of its own ('slug:' in the file), or, if it "
            "is the same issue edited since, pass --changed to resume that send with this version"
        )
    return True


def _not_started_elsewhere(workspace: Workspace, ident: str, source: str) -> None:
    """Refuse an issue that another journal (a copy of the workspace, its old place, its old
    ``.newsletter/``) has started sending: this one would send everyone the issue again."""
    own = journal_path(workspace)
    for path in other_journals(workspace):
        found = started_elsewhere(path, ident)
        if found is not None:
            where, count = found
            raise NewsletterError(
                f"{source}: this issue was already started from the workspace {where} "
                f"({count} recipient(s) sent or tried, journal {path}); send it from there, or, "
                f"if this is that workspace moved, move the journal to {own} (with its -wal "
                "file, if any), rather than send it to the list again"
            )


def send_status(workspace: Workspace, issue: Path) -> StatusReport:
    """The journal of ``issue``'s list send: counts by state, and everyone not sent."""
    slug = load_issue(issue, workspace.root, display=workspace.display(issue)).slug
    path = journal_to_read(workspace)
    if not path.exists():
        return StatusReport(slug, dict.fromkeys(STATES, 0), [])
    with Journal(path, exclusive=False) as journal:
        counts = journal.counts(slug)
        rows = journal.rows(slug, [s for s in STATES if s not in ("sent", "pending")])
    return StatusReport(slug, counts, rows)


def _deliver(
    workspace: Workspace,
    deliveries: list[Delivery],
    template: MessageTemplate,
    sign: Signer | None,
    connect: Connector,
    *,
    journal: Journal | None = None,
    issue: str = "",
    connections: int | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SendReport:
    """Run the send; the send's own error or an interruption is raised after it stopped."""
    settings = workspace.settings.send
    sent: Report = deliver(
        deliveries,
        template,
        connect=connect,
        connections=connections or settings.connections,
        rate=settings.rate,
        retries=settings.retries,
        retry_delay=settings.retry_delay,
        issue=issue,
        journal=journal,
        sign=sign,
        on_outcome=on_outcome or (lambda outcome: None),
    )
    if sent.error is not None:
        if isinstance(sent.error, NewsletterError):
            raise sent.error
        raise NewsletterError(f"the send stopped: {sent.error}")
    return SendReport(
        outcomes=sent.outcomes,
        planned=len(deliveries),
        seconds=sent.seconds,
        interrupted=sent.interrupted,
    )


def _dry_run(
    template: MessageTemplate, deliveries: list[Delivery], sign: Signer | None
) -> SendReport:
    """Make every message as the send would, and send none."""
    started = perf_counter()
    now = dt.datetime.now(dt.UTC)
    size = sum(len(template.message(d.to, d.values, date=now, sign=sign)) for d in deliveries)
    return SendReport(planned=len(deliveries), seconds=perf_counter() - started, dry_run_bytes=size)
