"""``newsletter send``: test sends, resumable list sends, and where a list send stands.

The whole journal protocol lives here, in plain functions that return reports and never print:

1. build the issue in memory and read the whole list; refuse (``preflight``) on check errors,
   list problems or a missing unsubscribe link, unless ``force`` lets the editor's own mistakes
   through;
2. open the journal (one send per workspace at a time) and make sure this issue's identity
   (its slug and a hash of its subject and both parts) is the one the journal knows by that
   slug: a different issue with a reused slug, or this issue sent before under another slug,
   is refused with what to do, never mistaken for a finished send;
3. mark what a killed run left "sending" as unknown, add the list's new recipients as pending,
   and send to everyone not yet sent, failed or (unless ``resend_unknown``) unknown.

A :class:`Transport` factory is injected (default: SMTP from ``[smtp]``), so that callers and
tests can put any sender behind the same journal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import IO, Any, Protocol

import click

from newsletter.commands.gate import blocking, list_send_errors
from newsletter.commands.via import esp_transport, send_via
from newsletter.delivery.journal import STATES, Journal, JournalRow
from newsletter.delivery.plan import (
    journal_path,
    list_deliveries,
    smtp_connector,
    test_deliveries,
    unsubscribe_secret,
)
from newsletter.delivery.recipients import parse_addresses, read_recipients
from newsletter.delivery.send import Delivery, Outcome, Report, deliver
from newsletter.delivery.signing import dkim_signer
from newsletter.delivery.smtp import Sender
from newsletter.errors import NewsletterError, Problem, ProblemsError
from newsletter.mail.message import MessageTemplate, Signer
from newsletter.model.artifact import Artifact
from newsletter.model.email import Email
from newsletter.model.settings import Settings
from newsletter.model.workspace import Workspace
from newsletter.pipeline.load import load_issue
from newsletter.pipeline.stages import build_issue

__all__ = [
    "Connector",
    "Progress",
    "Refused",
    "SendReport",
    "StatusReport",
    "identity",
    "list_send",
    "preflight",
    "send_status",
    "test_send",
]

#: Makes one connection's sender; called once per parallel connection.
Connector = Callable[[], Sender]


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
    the messages a dry run made (nothing was sent then).
    """

    outcomes: list[Outcome] = field(default_factory=list)
    planned: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    forced: list[Problem] = field(default_factory=list)
    nothing_left: bool = False
    unknown_skipped: int = 0
    dry_run_bytes: int | None = None

    def count(self, state: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.state == state)

    @property
    def ok(self) -> bool:
        """Every message sent, and nobody of unknown fate left behind."""
        return not self.unknown_skipped and all(o.state == "sent" for o in self.outcomes)


@dataclass(frozen=True)
class StatusReport:
    """Where the list send of one issue stands."""

    slug: str
    counts: dict[str, int]
    rows: list[JournalRow]

    @property
    def started(self) -> bool:
        return any(self.counts.values())


def identity(email: Email) -> str:
    """What the journal knows an issue by besides its slug: a hash of what subscribers get."""
    digest = hashlib.sha256()
    for part in (email.subject, email.text, email.html):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def preflight(
    artifact: Artifact | None,
    build_problems: Sequence[Problem],
    list_problems: Sequence[Problem],
    settings: Settings,
    *,
    force: bool,
) -> list[Problem]:
    """Raise :class:`Refused` when a list send must not start; else return the problems
    ``force`` let through, for the report.

    No ``force`` overrides a missing unsubscribe link: without one a list send would break the
    law in many places and Gmail's and Yahoo's sender rules.
    """
    if not settings.send.unsubscribe_url:
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
        problems += list_send_errors(artifact)
    if problems and (not force or artifact is None):
        raise Refused(
            problems, "" if artifact is None else ": fix them, or send anyway with --force"
        )
    return problems


def _built(workspace: Workspace, issue: Path) -> Artifact:
    result = build_issue(issue, workspace)
    if result.artifact is None:
        raise ProblemsError(result.problems)
    return result.artifact


def test_send(
    workspace: Workspace,
    issue: Path,
    to: Sequence[str],
    *,
    data: dict[str, str] | None = None,
    dry_run: bool = False,
    connect: Connector | None = None,
) -> SendReport:
    """Send ``issue`` to ``to`` as the sample subscriber (``data`` overriding some values),
    the subject prefixed with ``[send] test_prefix``."""
    addresses, problems = parse_addresses(to)
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="'--to'")
    settings = workspace.settings
    artifact = _built(workspace, issue)
    refused = blocking(artifact)
    if refused:
        raise Refused(refused, ": fix them first")
    deliveries = test_deliveries(
        settings, artifact.slug, addresses, data or {}, secret=unsubscribe_secret(settings)
    )
    template = MessageTemplate(artifact.email, settings, subject_prefix=settings.send.test_prefix)
    sign = dkim_signer(settings, workspace.root)
    if dry_run:
        return _dry_run(template, deliveries, sign)
    report = _deliver(
        workspace, deliveries, template, sign, connect or smtp_connector(settings), connections=1
    )
    return report


def list_send(
    workspace: Workspace,
    issue: Path,
    subscribers: Path,
    *,
    dry_run: bool = False,
    force: bool = False,
    resend_unknown: bool = False,
    changed: bool = False,
    connect: Connector | None = None,
    progress: Progress | None = None,
    via: str | None = None,
) -> SendReport:
    """Send ``issue`` to every subscriber of the CSV ``subscribers``, journaled: run it again
    after any interruption and it resumes, sending nobody the issue twice.

    ``via`` names an ESP whose bulk API sends instead of ``[smtp]`` (:mod:`.via`).

    ``changed`` resumes a send although the issue's content differs from what the journal
    recorded for its slug (a typo fixed half-way); without it such a send is refused.
    """
    settings = workspace.settings
    listed = read_recipients(subscribers, display=workspace.display(subscribers))
    result = build_issue(issue, workspace)
    forced = preflight(result.artifact, result.problems, listed.problems, settings, force=force)
    artifact = result.artifact
    assert artifact is not None  # preflight refuses a build that failed
    template = MessageTemplate(artifact.email, settings)
    sign = dkim_signer(settings, workspace.root)
    secret = unsubscribe_secret(settings)
    slug, path = artifact.slug, journal_path(workspace)
    if dry_run:
        states: dict[str, str] = {}
        if path.exists():
            with Journal(path, exclusive=False) as journal:
                states = journal.states(slug)
        deliveries = list_deliveries(
            settings, slug, listed.recipients, states, resend_unknown=resend_unknown, secret=secret
        )
        report = _dry_run(template, deliveries, sign)
        done = len(listed.recipients) - len(deliveries)
        if done:
            report.notes.append(f"{done} already done, see --status")
        report.forced = forced
        return report
    sender = esp_transport(via, artifact, workspace) if via else None
    connector = None if sender else (connect or smtp_connector(settings))
    with Journal(path) as journal:
        _claim(journal, slug, identity(artifact.email), artifact.display, changed=changed)
        recovered = journal.recover(slug)
        journal.add(slug, (r.key for r in listed.recipients))
        states = journal.states(slug)
        deliveries = list_deliveries(
            settings, slug, listed.recipients, states, resend_unknown=resend_unknown, secret=secret
        )
        keys = {r.key for r in listed.recipients}
        unknown = sum(1 for key, state in states.items() if key in keys and state == "unknown")
        notes = []
        if recovered:
            notes.append(f"an earlier send of {slug} stopped during {recovered} message(s)")
        if unknown and not resend_unknown:
            notes.append(
                f"{unknown} recipient(s) of unknown fate are not sent again; see "
                "'newsletter send ISSUE --status', and pass --resend-unknown to send to them"
            )
        before = sum(1 for key, state in states.items() if key in keys and state == "sent")
        if deliveries and before:
            notes.append(f"resuming: {before} already sent, {len(deliveries)} to send")
        if not deliveries:
            if sender is not None:
                sender.close()
            report = SendReport(nothing_left=True, planned=len(keys))
        else:
            progress = progress or _Silent()
            progress.start(len(deliveries))
            if sender is not None:
                sent = send_via(
                    workspace,
                    deliveries,
                    sender,
                    journal=journal,
                    issue=slug,
                    on_outcome=progress.advance,
                )
                report = SendReport(sent.outcomes, planned=len(deliveries), seconds=sent.seconds)
            else:
                assert connector is not None
                report = _deliver(
                    workspace,
                    deliveries,
                    template,
                    sign,
                    connector,
                    journal=journal,
                    issue=slug,
                    on_outcome=progress.advance,
                )
    report.notes[:0] = notes
    report.forced = forced
    report.unknown_skipped = 0 if resend_unknown else unknown
    return report


def _claim(journal: Journal, slug: str, ident: str, source: str, *, changed: bool) -> None:
    """Make sure the journal knows ``slug`` as this issue, or refuse with what to do."""
    known = journal.identity(slug)
    if known is None:
        other = journal.slug_of(ident)
        if other is not None and other.slug != slug:
            raise NewsletterError(
                f"{source}: this issue was already sent as '{other.slug}' (from {other.source}, "
                f"{other.created}); resume it under that slug (slug: {other.slug}) rather than "
                "send it to the list again"
            )
        journal.claim(slug, ident, source)
        return
    if known.identity == ident:
        return
    if not changed:
        raise NewsletterError(
            f"{source}: a different issue was sent as '{slug}' (from {known.source}, "
            f"{known.created}); give this one a slug of its own ('slug:' in the file), or, if it "
            "is the same issue edited since, pass --changed to resume that send with this version"
        )
    journal.claim(slug, ident, source, replace=True)


def send_status(workspace: Workspace, issue: Path) -> StatusReport:
    """The journal of ``issue``'s list send: counts by state, and everyone not sent."""
    slug = load_issue(issue, workspace.root, display=workspace.display(issue)).slug
    path = journal_path(workspace)
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
    if sent.interrupted:
        raise NewsletterError("interrupted; run the same command again to resume")
    return SendReport(outcomes=sent.outcomes, planned=len(deliveries), seconds=sent.seconds)


def _dry_run(
    template: MessageTemplate, deliveries: list[Delivery], sign: Signer | None
) -> SendReport:
    """Make every message as the send would, and send none."""
    started = perf_counter()
    now = dt.datetime.now(dt.UTC)
    size = sum(len(template.message(d.to, d.values, date=now, sign=sign)) for d in deliveries)
    return SendReport(planned=len(deliveries), seconds=perf_counter() - started, dry_run_bytes=size)
