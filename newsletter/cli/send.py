"""``newsletter send ISSUE --to ADDRESS`` / ``--list subscribers.csv`` / ``--status``."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from newsletter.cli.options import find_issue, open_workspace, workspace_option

if TYPE_CHECKING:  # imported for type checkers only, at no run-time cost
    from newsletter.commands.send import SendReport, SendSummary, StatusReport
    from newsletter.delivery.send import Outcome


#: The ESPs of ``--via``, named here so that --help imports no transport (a test keeps this
#: equal to :data:`newsletter.delivery.esp.VIAS`).
VIA_NAMES = ("ses", "sendgrid", "postmark", "mailgun")


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
  newsletter send issues/x.yaml --list subscribers.csv --via ses
  newsletter send issues/x.yaml --list subscribers.csv --yes   # from a script
  newsletter send issues/x.yaml --status

\b
Test sends (--to) put [send] test_prefix before the subject and fill the merge
fields from [send.sample] (or --data). A list send (--list) checks the whole CSV
first, shows what it is about to do and asks (--yes: don't ask; with no terminal
to ask on it refuses), then sends one message per subscriber through [smtp],
journaled in ~/.local/state/newsletter/: run the same command again after any
interruption and it resumes, sending nobody the issue twice. An issue with a
check error is sent by neither without --force. The SMTP password and the
unsubscribe secret are read from the environment variables that [smtp]
password_env and [send] unsubscribe_secret_env name. With --via, the ESP's
bulk API sends instead, in batches, behind the same journal ([esp] in
newsletter.toml; credentials from the environment).""",
)
@click.argument("issue", type=click.Path(dir_okay=False, path_type=Path))
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
@click.option(
    "--via",
    type=click.Choice(VIA_NAMES),
    help="Send the list through this ESP's bulk API instead of [smtp].",
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
    "--yes",
    "-y",
    is_flag=True,
    help="Start the list send without asking (for scripts; read the summary in the log).",
)
@click.option(
    "--resend-unknown",
    is_flag=True,
    help="Send again to recipients whose message may or may not have reached the server "
    "(see --status): those it did reach get the issue twice.",
)
@click.option(
    "--changed",
    is_flag=True,
    help="Resume a list send although the issue was edited since it started.",
)
@workspace_option
def command(
    issue: Path,
    to: tuple[str, ...],
    subscribers: Path | None,
    via: str | None,
    status: bool,
    data: dict[str, str],
    dry_run: bool,
    force: bool,
    yes: bool,
    resend_unknown: bool,
    changed: bool,
    workspace: Path | None,
) -> None:
    """Send ISSUE: test messages (--to), the list (--list), or show where a send is (--status).

    Exits 0 when every message was sent (or nothing was left to send), 1 when the list or
    the issue has problems, or any recipient failed, was deferred or is of unknown fate.
    """
    from newsletter.commands.send import list_send, send_status, test_send

    modes = [
        name for name, on in (("--to", to), ("--list", subscribers), ("--status", status)) if on
    ]
    if len(modes) != 1:
        raise click.UsageError("give one of --to ADDRESS, --list FILE or --status")
    if data and not to:
        raise click.UsageError("--data is for test sends (--to)")
    if via and not subscribers:
        raise click.UsageError("--via is for list sends (--list)")
    if yes and not subscribers:
        raise click.UsageError("--yes is for list sends (--list)")
    ws = open_workspace(workspace)
    issue = find_issue(ws, issue)
    if status:
        _print_status(send_status(ws, issue))
        return
    if to:
        report = test_send(ws, issue, to, data=data, dry_run=dry_run, force=force)
        _print_findings(report)
        if report.ok and not dry_run:  # what `newsletter diff` compares with
            from newsletter.commands.diff import save_snapshot

            save_snapshot(ws, issue)
        if report.dry_run_bytes is not None:
            _print_dry_run(report)
        elif report.outcomes:
            click.echo(f"test send of {report.subject!r} through {report.server}:")
        for outcome in report.outcomes:
            reply = (
                f" ({outcome.code} {outcome.detail})" if outcome.code else f" ({outcome.detail})"
            )
            click.echo(f"{outcome.state} {outcome.to}{reply if outcome.state != 'sent' else ''}")
        if report.interrupted:
            click.echo("interrupted: the addresses not listed above were not sent", err=True)
    else:
        assert subscribers is not None
        with _ProgressBar() as bar:
            report = list_send(
                ws,
                issue,
                subscribers,
                dry_run=dry_run,
                force=force,
                resend_unknown=resend_unknown,
                changed=changed,
                confirm=_confirm(yes=yes),
                progress=bar,
                via=via,
            )
        _print_list_report(report)
    if not report.ok:
        sys.exit(1)


def _confirm(*, yes: bool) -> Callable[[SendSummary], bool]:
    """Show the summary; then go ahead (``--yes``), ask on a terminal, or refuse without one."""

    def confirm(summary: SendSummary) -> bool:
        _print_summary(summary)
        if yes:
            return True
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            from newsletter.errors import NewsletterError

            raise NewsletterError(
                "no terminal to ask on, so nothing was sent: pass --yes to start a list send "
                "without asking"
            )
        return click.confirm(f"Send the issue to {summary.recipients} recipient(s) now?")

    return confirm


def _print_summary(summary: SendSummary) -> None:
    counts = Counter(f.severity for f in summary.findings)
    findings = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(counts.items())) or "none"
    done = f", {summary.done} done before" if summary.done else ""
    lines = [
        f"about to send {summary.issue}",
        f"  subject:    {summary.subject}",
        f"  from:       {summary.sender}",
        f"  server:     {summary.server}",
        f"  list:       {summary.rows} row(s) read, {summary.listed} recipient(s){done}",
        f"  recipients: {summary.recipients} will get the issue now",
        f"  findings:   {findings}",
    ]
    lines += [f"  forced:     {problem}" for problem in summary.forced]
    lines += [f"  note:       {note}" for note in summary.notes]
    click.echo("\n".join(lines))


def _print_findings(report: SendReport) -> None:
    for finding in report.findings:
        click.echo(
            f"{finding.severity} {finding.location}: {finding.message} [{finding.id}]", err=True
        )
    for problem in report.forced:
        click.echo(f"warning: {problem} (sending anyway: --force)", err=True)


class _ProgressBar:
    """The list send's progress on stderr: count, rate, and time left."""

    def __init__(self) -> None:
        self._bar: Any = None
        self.done = 0
        self.started = time.monotonic()

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def start(self, total: int) -> None:
        self._bar = click.progressbar(
            length=total,
            label="sending",
            file=sys.stderr,
            show_pos=True,
            item_show_func=self._rate,
            # a redraw per recipient on a terminal would cost more than an ESP batch's share
            update_min_steps=max(1, total // 500),
        ).__enter__()

    def advance(self, outcome: Outcome) -> None:
        self.done += 1
        self._bar.update(1, outcome)

    def _rate(self, _: object) -> str:
        elapsed = time.monotonic() - self.started
        return f"{self.done / elapsed:.0f}/s" if elapsed > 0 and self.done else ""


def _print_dry_run(report: SendReport) -> None:
    average = (report.dry_run_bytes or 0) / report.planned / 1024 if report.planned else 0.0
    already = f" ({report.notes[0]})" if report.notes else ""
    click.echo(
        f"dry run: {report.planned} message(s) made in {report.seconds * 1000:.0f} ms, "
        f"{average:.1f} KB each{already}; nothing was sent"
    )


def _print_list_report(report: SendReport) -> None:
    if report.dry_run_bytes is not None:
        _print_findings(report)
        _print_dry_run(report)
        return
    for note in report.notes:
        click.echo(note, err=True)
    if report.nothing_left:
        click.echo(
            f"nothing to send: each of the {report.planned} recipients was sent the issue, "
            "refused it or is of unknown fate (see --status)"
        )
        for row in report.left:
            code = f"{row.code} " if row.code else ""
            click.echo(f"  {row.state:8} {row.recipient}  {code}{row.detail}")
        return
    sent = report.count("sent")
    rate = sent / report.seconds if report.seconds else 0.0
    parts = [
        f"{n} {state}" for state in ("failed", "deferred", "unknown") if (n := report.count(state))
    ]
    click.echo(
        f"sent {sent} of {report.planned} in {report.seconds:.1f} s ({rate:.0f}/s)"
        + (f": {', '.join(parts)}" if parts else "")
    )
    for outcome in report.outcomes:
        if outcome.state != "sent":
            code = f"{outcome.code} " if outcome.code else ""
            click.echo(f"  {outcome.state:8} {outcome.to}  {code}{outcome.detail}")
    if report.interrupted:
        click.echo("interrupted: run the same command again to resume", err=True)


def _print_status(status: StatusReport) -> None:
    if not status.started:
        click.echo(f"{status.slug}: no list send yet")
        return
    counts = ", ".join(f"{n} {state}" for state, n in status.counts.items() if n)
    click.echo(f"{status.slug}: {counts}")
    for row in status.rows:
        code = f"{row.code} " if row.code else ""
        click.echo(f"  {row.state:8} {row.recipient}  {code}{row.detail}  ({row.updated})")
