"""message.eml: a complete RFC 5322 message for the sample subscriber."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import subprocess
import sys
from collections.abc import Callable
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from newsletter import Workspace, build_message, merge_values
from newsletter.mail import message
from newsletter.mail.values import SAMPLE_SECRET
from newsletter.model.artifact import BuildResult
from newsletter.pipeline.checks import context
from newsletter.targets.files import email_files

from .conftest import EXAMPLE, MINIMAL


def parsed(result: BuildResult) -> EmailMessage:
    message = message_from_bytes(email_files(result.artifact)["message.eml"], policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_multipart_alternative_text_before_html_in_utf8(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    message = parsed(build(workspace_dir / "issues" / f"{EXAMPLE}.yaml"))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert "Kremlin’s war effort" in parts[0].get_content()


def test_headers_and_one_click_unsubscribe(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    message = parsed(result)
    assert message["From"] == "GZERO Media <newsletter@gzeromedia.com>"
    assert message["To"] == "alex@example.com"
    assert message["Subject"] == "Putin poaches the neighbors for his Ukraine invasion"
    assert message["MIME-Version"] == "1.0"
    assert message["Message-ID"].endswith("@gzeromedia.com>")
    assert message["Date"]
    # signed as a real send signs it, with the sample secret (no real one is needed to build)
    token = hmac.new(SAMPLE_SECRET.encode(), b"alex@example.com", hashlib.sha256).hexdigest()[:32]
    assert message["List-Unsubscribe"] == (
        f"<https://www.gzeromedia.com/newsletter/unsubscribe?token={token}>, "
        "<mailto:unsubscribe@gzeromedia.com?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = email_files(result.artifact)["message.eml"]
    assert all(len(line) < 998 for line in raw.split(b"\r\n"))
    assert (
        b"\r\n" in raw and b"=?utf-8?" not in raw.split(b"\r\n\r\n")[0]
    )  # ASCII headers unencoded


def test_merge_fields_are_filled_for_the_sample_subscriber(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    message = parsed(build(workspace_dir / "issues" / f"{EXAMPLE}.yaml"))
    text, html = (p.get_content() for p in message.iter_parts())
    assert "%%" not in text and "%%" not in html
    assert 'href="https://www.gzeromedia.com/newsletter/unsubscribe?token=' in html
    assert "https://www.gzeromedia.com/newsletter/2025-06-26-putin-poaches-the-neighbors" in text


def test_non_ascii_subject_is_rfc2047_encoded_and_values_are_escaped(
    write_issue: Callable[..., Path], workspace: Workspace
) -> None:
    from newsletter import compose, load_issue

    text = MINIMAL.replace(
        "subject: A plain subject", "subject: Привет, %%first_name|друг%% 👋"
    ).replace("A first paragraph.", "Dear %%first_name|reader%%,")
    email = compose(load_issue(write_issue(text), workspace.root), workspace)
    values = merge_values(
        workspace.settings, email.slug, {"email": "a@example.com", "first_name": "<Bo & Co>"}
    )
    raw = build_message(
        email,
        workspace.settings,
        to="a@example.com",
        values=values,
        date=dt.datetime(2025, 6, 26, tzinfo=dt.UTC),
    )
    assert b"Subject: =?utf-8?" in raw
    reparsed = message_from_bytes(raw, policy=policy.default)
    assert reparsed["Subject"] == "Привет, <Bo & Co> 👋"
    text_part, html_part = (p.get_content() for p in reparsed.iter_parts())  # type: ignore[attr-defined]
    assert "Dear <Bo & Co>," in text_part
    assert "Dear &lt;Bo &amp; Co&gt;," in html_part
    fallback = merge_values(workspace.settings, email.slug, {"email": "b@example.com"})
    again = message_from_bytes(
        build_message(
            email,
            workspace.settings,
            to="b@example.com",
            values=fallback,
            date=dt.datetime.now(dt.UTC),
        ),
        policy=policy.default,
    )
    assert "Dear reader," in again.get_body(("plain",)).get_content()  # type: ignore[attr-defined]


def test_compose_runs_the_stages_to_merge_fields_and_no_checks(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a send composes from is the email itself: the checks ran before (preflight)."""
    from newsletter.pipeline import stages
    from newsletter.pipeline.load import load_issue

    ran = [stage.name for stage in stages.STAGES]
    names: list[str] = []
    real_run = stages.run

    def run(draft: stages.Draft, chosen: tuple[stages.Stage, ...] = stages.STAGES) -> stages.Draft:
        names.extend(stage.name for stage in chosen)
        return real_run(draft, chosen)

    monkeypatch.setattr(stages, "run", run)
    issue = load_issue(workspace.root / "issues" / f"{EXAMPLE}.yaml", workspace.root)
    assert stages.compose(issue, workspace).subject == issue.subject
    assert names == [name for name in ran if name not in ("load", "eml", "check")]


#: Characters that make the email package quote, encode or fold, among plain ones.
_AWKWARD = " .,;:<>@\"()[]\\=?_'!#~-\t\u201cé"
_ADDRESSES = ["news@example.com", "a.b@c.d", "x+y@z-q.org", "bad", "a..b@c.com", '"q"@x.com']
_ADDRESSES += ["a@b", "é@x.com", ".a@b.com", "n@" + "long" * 20 + ".com"]
_NAMES = ["Subject", "From", "Reply-To", "To", "List-Unsubscribe", "List-Unsubscribe-Post"]


def _random_text(rng: random.Random, longest: int, plain: str = "abcdef ") -> str:
    return "".join(
        rng.choice(_AWKWARD) if rng.random() < 0.25 else rng.choice(plain)
        for _ in range(rng.randint(0, longest))
    )


def _random_value(rng: random.Random) -> str:
    """Free text, or a mailbox that is plain or nearly so, now and then long."""
    if rng.random() < 0.5:
        return _random_text(rng, 90)
    name = _random_text(rng, 30, plain="abcdXY ")
    return f"{name} <{rng.choice(_ADDRESSES)}>" if name else rng.choice(_ADDRESSES)


def _outcome(make: Callable[[], object]) -> object:
    """What ``make`` gives, or the kind of error it raises (refused by both is the same)."""
    try:
        return make()
    except Exception as error:
        return type(error)


def _reference_sender(name: str, address: str, reply_to: str | None) -> bytes:
    smtp = policy.SMTP.clone(refold_source="all")
    line = smtp.fold("From", str(Address(name, addr_spec=address))).encode()
    return line + smtp.fold("Reply-To", reply_to).encode() if reply_to else line


def test_headers_written_and_read_without_the_email_package_are_its_own() -> None:
    """What the message writes and the checks read without the email package (plain headers)
    is byte for byte what the email package makes of the same headers, on random ones."""
    rng = random.Random(15)
    smtp = policy.SMTP.clone(refold_source="all")
    plain = 0
    for _ in range(6000):
        name, value = rng.choice(_NAMES), _random_value(rng)
        plain += message.plain_header(name, value)
        message._fold.cache_clear()
        expected = _outcome(lambda: smtp.fold(name, value).encode())  # noqa: B023
        assert _outcome(lambda: message._fold(name, value)) == expected, (name, value)  # noqa: B023
        expected = _outcome(lambda: str(policy.default.header_factory(name, value)))  # noqa: B023
        context._header_text.cache_clear()
        assert _outcome(lambda: context._header_text(name, value)) == expected, (name, value)  # noqa: B023
    assert 500 < plain < 5500  # both ways were taken, many times
    for _ in range(3000):
        sender = (
            _random_text(rng, 30, plain="abcdXY "),
            rng.choice(_ADDRESSES),
            rng.choice([None, "", "desk@example.com", "Desk <desk@example.com>", "a,b@c"]),
        )
        message._sender.cache_clear()
        assert _outcome(lambda: message._sender(*sender)) == _outcome(  # noqa: B023
            lambda: _reference_sender(*sender)  # noqa: B023
        ), sender
    zones = [None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]
    zones.append(dt.timezone(-dt.timedelta(hours=8)))
    for _ in range(2000):
        when = dt.datetime(
            rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
            rng.randint(0, 59), rng.randint(0, 59), tzinfo=rng.choice(zones),
        )  # fmt: skip
        assert message._date(when) == format_datetime(when)


def test_a_build_of_plain_headers_imports_no_header_parser(workspace_dir: Path) -> None:
    """The example's headers are plain: its build, checks included, writes and reads them
    without the email package's header parser and policies (a twentieth of a cold build)."""
    script = """\
import sys
from pathlib import Path
from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace
root = Path(sys.argv[1])
result = build_issue(root / "issues" / sys.argv[2], load_workspace(root))
assert result.artifact is not None and result.artifact.findings, result.problems
parsers = ("email.policy", "email.headerregistry", "email.parser", "email.message")
print(sorted(name for name in sys.modules if name in parsers))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(workspace_dir), f"{EXAMPLE}.yaml"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
