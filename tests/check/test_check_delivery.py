"""Deliverability headers and client support, on real built emails."""

from __future__ import annotations

import json
from pathlib import Path

from newsletter.pipeline.checks import Finding, clients
from newsletter.workspace import load_workspace

from .conftest import by_id, check, make_workspace

SEND = """[send]
unsubscribe_url = "https://www.gzeromedia.com/newsletter/unsubscribe?token={token}"
unsubscribe_mailto = "unsubscribe@gzeromedia.com"
"""


def test_deliverability_rules_stay_quiet_on_the_example(example: list[Finding]) -> None:
    for rule in ("from-address", "list-unsubscribe", "list-unsubscribe-one-click"):
        assert by_id(example, rule) == [], rule


def test_from_address_at_a_free_mail_provider(tmp_path: Path) -> None:
    root = make_workspace(
        tmp_path / "ws",
        toml=[('from_email = "newsletter@gzeromedia.com"', 'from_email = "gzero.news@gmail.com"')],
    )
    (finding,) = by_id(check(root), "from-address")
    assert "gmail.com" in finding.message and "from_email" in finding.location


def test_no_list_unsubscribe_header(tmp_path: Path) -> None:
    findings = check(make_workspace(tmp_path / "ws", toml=[(SEND, "[send]\n")]))
    (finding,) = by_id(findings, "list-unsubscribe")
    assert finding.location == "newsletter.toml: send.unsubscribe_url"
    assert by_id(findings, "list-unsubscribe-one-click") == []


def test_mailto_only_is_not_one_click(tmp_path: Path) -> None:
    mailto_only = '[send]\nunsubscribe_mailto = "unsubscribe@gzeromedia.com"\n'
    findings = check(make_workspace(tmp_path / "ws", toml=[(SEND, mailto_only)]))
    assert by_id(findings, "list-unsubscribe") == []
    (finding,) = by_id(findings, "list-unsubscribe-one-click")
    assert "RFC 8058" in finding.message


def test_client_support_names_the_clients_and_the_feature(example: list[Finding]) -> None:
    support = by_id(example, "client-support")
    assert support and all(f.severity == "info" for f in support)
    (radius,) = [f for f in support if "/css-border-radius/" in f.message]
    assert "Outlook for Windows" in radius.message and radius.location.startswith("email.html:")


def test_client_support_follows_the_target_clients(tmp_path: Path) -> None:
    findings = check(
        make_workspace(tmp_path / "ws", append='\n[check]\nclients = ["apple-mail"]\n')
    )
    messages = [f.message for f in by_id(findings, "client-support")]
    assert messages and not any("Outlook" in m for m in messages)


def test_outlook_conditional_comments_are_not_counted(tmp_path: Path) -> None:
    flex = '<div style="display:flex;">Side by side</div>'
    raw = "<mj-column>\n        <mj-raw>{}</mj-raw>"
    plain = make_workspace(
        tmp_path / "plain", theme={"partials/header.mjml.j2": [("<mj-column>", raw.format(flex))]}
    )
    hidden = make_workspace(
        tmp_path / "mso",
        theme={
            "partials/header.mjml.j2": [
                ("<mj-column>", raw.format(f"<!--[if mso]>{flex}<![endif]-->"))
            ]
        },
    )
    flagged = [
        f for f in by_id(check(plain), "client-support") if "/css-display-flex/" in f.message
    ]
    assert len(flagged) == 1 and "Outlook for Windows" in flagged[0].message
    assert not [f for f in by_id(check(hidden), "client-support") if "display-flex" in f.message]


def test_not_mso_blocks_are_not_counted_against_outlook() -> None:
    html = '<!--[if !mso]><!--><div style="display:flex;">x</div><!--<![endif]-->'
    everyone, not_outlook = clients._visible_to(html)
    assert "display-flex" not in str(clients.features(everyone))
    assert "css-display-flex" in clients.features(not_outlook)


def test_the_caniemail_data_ships_in_the_package() -> None:
    from importlib import resources

    folder = resources.files("newsletter").joinpath("data/caniemail")
    assert {"LICENSE", "README.md", "caniemail.json"} <= {p.name for p in folder.iterdir()}
    assert len(clients.caniemail()["data"]) > 250


def test_the_shipped_support_index_is_the_one_the_caniemail_data_makes() -> None:
    """The check reads ``index.json``, not the 650 KB data: it must say what the data says
    (after refreshing caniemail.json, remake it as its README says)."""
    from importlib import resources

    shipped = resources.files("newsletter").joinpath("data/caniemail/index.json").read_text()
    made = clients.support_index(clients.caniemail())
    assert json.loads(shipped) == made, "index.json is stale: remake it (data/caniemail/README.md)"
    assert shipped == json.dumps(made, ensure_ascii=False, separators=(",", ":")) + "\n"


def test_the_headers_of_a_given_message_are_checked(tmp_path: Path) -> None:
    import datetime as dt

    from newsletter.mail.message import build_message, headers
    from newsletter.mail.values import merge_values
    from newsletter.pipeline.checks import run_checks
    from newsletter.pipeline.stages import build_issue

    from .conftest import EXAMPLE

    root = make_workspace(tmp_path / "ws")
    ws = load_workspace(root)
    result = build_issue(root / "issues" / EXAMPLE, ws)
    assert result.email is not None
    sample = ws.settings.send.sample
    message = headers(
        build_message(
            result.email,
            ws.settings,
            to=sample["email"],
            values=merge_values(ws.settings, result.slug, sample),
            date=dt.datetime.now(dt.UTC),
        )
    )
    assert by_id(run_checks(result.artifact, ws, message=message), "from-address") == []
    del message["From"]
    del message["List-Unsubscribe"]
    findings = run_checks(result.artifact, ws, message=message)
    assert [f.severity for f in by_id(findings, "from-address")] == ["error"]
    assert len(by_id(findings, "list-unsubscribe")) == 1
