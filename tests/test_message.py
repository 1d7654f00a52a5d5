"""message.eml: a complete RFC 5322 message for the sample subscriber."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter import Workspace, build_message, merge_values
from newsletter.mail.values import SAMPLE_SECRET
from newsletter.model.artifact import BuildResult
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
