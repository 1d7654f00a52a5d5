"""``newsletter send ISSUE --to ADDRESS`` / ``--list subscribers.csv`` / ``--status``."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from newsletter.cli.options import open_workspace, workspace_option

if TYPE_CHECKING:  # imported for type checkers only, at no run-time cost
    from newsletter.commands.build import BuildResult
    from newsletter.delivery.journal import Journal
    from newsletter.delivery.send import Delivery, Outcome, Report
    from newsletter.delivery.smtp import Sender
    from newsletter.mail.message import MessageTemplate, Signer
    from newsletter.workspace import Workspace


def _data(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in value:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {item!r}")
        pairs[key.strip()] = val
    return pairs


@click.command(
    "send",
    epilog="""\b
Examples:
  newsletter send issues/x.yaml --to me@example.com,editor@example.com
  newsletter send issues/x.yaml --to me@example.com --data first_name=Sam
  newsletter send issues/x.yaml --list subscribers.csv --dry-run
  newsletter send issues/x.yaml --list subscribers.csv
  newsletter send issues/x.yaml --status

\b
Test sends (--to) put [send] test_prefix before the subject and fill the merge
fields from [send.sample] (or --data). A list send (--list) checks the whole CSV
first and sends one message per subscriber through [smtp], journaled in
.newsletter/sends.sqlite: run the same command again after any interruption and
it resumes, sending nobody the issue twice. The SMTP password is read from the
environment variable that [smtp] password_env names.""",
)
@click.argument("issue", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS[,ADDRESS...]",
    help="Test-send to these addresses.",
)
@click.option(
    "--list",
    "subscribers",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Send to every subscriber in this CSV (an email column, optional first_name ...).",
)
@click.option("--status", is_flag=True, help="Show the send journal of ISSUE, and send nothing.")
@click.option(
    "--data",
    multiple=True,
    callback=_data,
    metavar="KEY=VALUE",
    help="A merge-field value for test sends (overrides [send.sample]); repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Make every message and report; connect to nothing.")
@click.option("--force", is_flag=True, help="Send even though the list or the issue has problems.")
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again to recipients whose message's fate is unknown (see --status).",
)
@workspace_option
def command(
    issue: Path,
    to: tuple[str, ...],
    subscribers: Path | None,
    status: bool,
    data: dict[str, str],
    dry_run: bool,
    force: bool,
    resend_unknown: bool,
    workspace: Path | None,
) -> None:
    """Send ISSUE: test messages (--to), the list (--list), or show where a send is (--status).

    Exits 0 when every message was sent (or nothing was left to send), 1 when the list or
    the issue has problems, or any recipient failed, was deferred or is of unknown fate.
    """
    modes = [
        name for name, on in (("--to", to), ("--list", subscribers), ("--status", status)) if on
    ]
    if len(modes) != 1:
        raise click.UsageError("give one of --to ADDRESS, --list FILE or --status")
    if data and not to:
        raise click.UsageError("--data is for test sends (--to)")
    ws = open_workspace(workspace)
    if status:
        _status(ws, issue)
    elif to:
        _test_send(ws, issue, to, data, dry_run=dry_run)
    else:
        assert subscribers is not None
        _list_send(
            ws, issue, subscribers, dry_run=dry_run, force=force, resend_unknown=resend_unknown
        )


def _build(ws: Workspace, issue: Path) -> BuildResult:
    from newsletter.commands.build import build_issue
    from newsletter.errors import ProblemsError

    result = build_issue(issue, ws)
    if not result.ok:
        raise ProblemsError(result.problems)
    return result


def _test_send(
    ws: Workspace, issue: Path, to: tuple[str, ...], data: dict[str, str], *, dry_run: bool
) -> None:
    from newsletter.delivery.plan import smtp_connector, test_deliveries, unsubscribe_secret
    from newsletter.delivery.recipients import parse_addresses
    from newsletter.delivery.signing import dkim_signer
    from newsletter.mail.message import MessageTemplate

    addresses, problems = parse_addresses(to)
    if problems:
        raise click.BadParameter("; ".join(problems), param_hint="'--to'")
    settings = ws.settings
    result = _build(ws, issue)
    assert result.email is not None
    deliveries = test_deliveries(
        settings, result.slug, addresses, data, secret=unsubscribe_secret(settings)
    )
    template = MessageTemplate(result.email, settings, subject_prefix=settings.send.test_prefix)
    sign = dkim_signer(settings, ws.root)
    if dry_run:
        _dry_run(template, deliveries, sign, already="")
        return
    report = _deliver(
        ws,
        deliveries,
        template,
        sign,
        connector=smtp_connector(settings),
        progress=False,
        connections=1,
    )
    for outcome in report.outcomes:
        reply = f" ({outcome.code} {outcome.detail})" if outcome.code else f" ({outcome.detail})"
        click.echo(f"{outcome.state} {outcome.to}{reply if outcome.state != 'sent' else ''}")
    _finish(report)


def _list_send(
    ws: Workspace,
    issue: Path,
    subscribers: Path,
    *,
    dry_run: bool,
    force: bool,
    resend_unknown: bool,
) -> None:
    from newsletter.delivery.journal import Journal
    from newsletter.delivery.plan import (
        journal_path,
        list_deliveries,
        smtp_connector,
        unsubscribe_secret,
    )
    from newsletter.delivery.preflight import preflight
    from newsletter.delivery.recipients import read_recipients
    from newsletter.delivery.signing import dkim_signer
    from newsletter.mail.message import MessageTemplate

    settings = ws.settings
    listed = read_recipients(subscribers, display=ws.display(subscribers))
    result = _build(ws, issue)
    assert result.email is not None
    forced = preflight(result, listed.problems, settings, source=ws.display(issue), force=force)
    for problem in forced:
        click.echo(f"warning: {problem} (sending anyway: --force)", err=True)
    template = MessageTemplate(result.email, settings)
    sign = dkim_signer(settings, ws.root)
    secret = unsubscribe_secret(settings)
    slug = result.slug
    path = journal_path(ws)
    if dry_run:
        states: dict[str, str] = {}
        if path.exists():
            with Journal(path, exclusive=False) as journal:
                states = journal.states(slug)
        deliveries = list_deliveries(
            settings, slug, listed.recipients, states, resend_unknown=resend_unknown, secret=secret
        )
        done = len(listed.recipients) - len(deliveries)
        _dry_run(
            template,
            deliveries,
            sign,
            already=f" ({done} already done, see --status)" if done else "",
        )
        return
    connector = smtp_connector(settings)
    with Journal(path) as journal:
        recovered = journal.recover(slug)
        journal.add(slug, (r.key for r in listed.recipients))
        states = journal.states(slug)
        deliveries = list_deliveries(
            settings, slug, listed.recipients, states, resend_unknown=resend_unknown, secret=secret
        )
        keys = {r.key for r in listed.recipients}
        unknown = sum(1 for key, state in states.items() if key in keys and state == "unknown")
        if recovered:
            click.echo(f"an earlier send of {slug} stopped during {recovered} message(s)", err=True)
        if unknown and not resend_unknown:
            click.echo(
                f"{unknown} recipient(s) of unknown fate are not sent again; see "
                "'newsletter send ISSUE --status', and pass --resend-unknown to send to them",
                err=True,
            )
        if not deliveries:
            click.echo(
                f"nothing to send: each of the {len(keys)} recipients was sent the issue, "
                "refused it or is of unknown fate (see --status)"
            )
            if unknown and not resend_unknown:
                sys.exit(1)
            return
        before = sum(1 for key, state in states.items() if key in keys and state == "sent")
        if before:
            click.echo(f"resuming: {before} already sent, {len(deliveries)} to send", err=True)
        report = _deliver(
            ws,
            deliveries,
            template,
            sign,
            connector=connector,
            progress=True,
            journal=journal,
            issue=slug,
        )
    sent = report.count("sent")
    rate = sent / report.seconds if report.seconds else 0.0
    parts = [
        f"{n} {state}" for state in ("failed", "deferred", "unknown") if (n := report.count(state))
    ]
    click.echo(
        f"sent {sent} of {len(deliveries)} in {report.seconds:.1f} s ({rate:.0f}/s)"
        + (f": {', '.join(parts)}" if parts else "")
    )
    for outcome in report.outcomes:
        if outcome.state != "sent":
            code = f"{outcome.code} " if outcome.code else ""
            click.echo(f"  {outcome.state:8} {outcome.to}  {code}{outcome.detail}")
    _finish(report, unknown=bool(unknown) and not resend_unknown)


def _deliver(
    ws: Workspace,
    deliveries: list[Delivery],
    template: MessageTemplate,
    sign: Signer | None,
    *,
    connector: Callable[[], Sender],
    progress: bool,
    journal: Journal | None = None,
    issue: str = "",
    connections: int | None = None,
) -> Report:
    """Run the send, with a progress bar (count, rate, time left) on stderr for list sends."""
    from newsletter.delivery.send import deliver

    settings = ws.settings.send
    started = time.monotonic()
    done = 0

    def rate(_: object) -> str:
        elapsed = time.monotonic() - started
        return f"{done / elapsed:.0f}/s" if elapsed > 0 and done else ""

    with click.progressbar(
        length=len(deliveries),
        label="sending",
        file=sys.stderr if progress else io.StringIO(),
        show_pos=True,
        item_show_func=rate,
    ) as bar:

        def advance(outcome: Outcome) -> None:
            nonlocal done
            done += 1
            bar.update(1, outcome)

        return deliver(
            deliveries,
            template,
            connect=connector,
            connections=connections or settings.connections,
            rate=settings.rate,
            retries=settings.retries,
            retry_delay=settings.retry_delay,
            issue=issue,
            journal=journal,
            sign=sign,
            on_outcome=advance,
        )


def _dry_run(
    template: MessageTemplate, deliveries: list[Delivery], sign: Signer | None, *, already: str
) -> None:
    """Make every message as the send would, and say what would be sent."""
    import datetime as dt

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    size = sum(len(template.message(d.to, d.values, date=now, sign=sign)) for d in deliveries)
    ms = (time.perf_counter() - started) * 1000
    average = size / len(deliveries) / 1024 if deliveries else 0.0
    click.echo(
        f"dry run: {len(deliveries)} message(s) made in {ms:.0f} ms, {average:.1f} KB each"
        f"{already}; nothing was sent"
    )


def _finish(report: Report, *, unknown: bool = False) -> None:
    """Exit as the report says: the send's own error, an interruption, or any failure."""
    from newsletter.errors import NewsletterError

    if report.error is not None:
        if isinstance(report.error, NewsletterError):
            raise report.error
        raise NewsletterError(f"the send stopped: {report.error}")
    if report.interrupted:
        raise NewsletterError("interrupted; run the same command again to resume")
    if unknown or any(outcome.state != "sent" for outcome in report.outcomes):
        sys.exit(1)


def _status(ws: Workspace, issue: Path) -> None:
    """Print the journal of ISSUE: counts by state, then every recipient not sent."""
    from newsletter.delivery.journal import STATES, Journal
    from newsletter.delivery.plan import journal_path
    from newsletter.pipeline.load import load_issue

    slug = load_issue(issue, ws.root, display=ws.display(issue)).slug
    path = journal_path(ws)
    if not path.exists():
        click.echo(f"{slug}: no list send yet")
        return
    with Journal(path, exclusive=False) as journal:
        counts = journal.counts(slug)
        rows = journal.rows(slug, [s for s in STATES if s not in ("sent", "pending")])
    if not any(counts.values()):
        click.echo(f"{slug}: no list send yet")
        return
    click.echo(f"{slug}: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
    for row in rows:
        code = f"{row.code} " if row.code else ""
        click.echo(f"  {row.state:8} {row.recipient}  {code}{row.detail}  ({row.updated})")
