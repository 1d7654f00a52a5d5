"""``newsletter export``: each ESP's files, field names, dialect, limits, typed tags defused."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from newsletter.cli import cli
from newsletter.targets.esp import mailgun, ses

from .delivery_support import ISSUE, make_workspace, parse, parts
from .esp_engines import Handlebars, mustachio

TRICKY = "issues/2025-06-27-tricky.yaml"


def export(ws: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", "-w", str(ws), *args])
    return result.exit_code, result.output


def files(ws: Path, slug: str, esp: str) -> dict[str, bytes]:
    folder = ws / "out" / slug / "export" / esp
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def headline(html: str) -> str:
    """The lead headline as a mail client shows it (character references decoded)."""
    tree = lxml_html.fromstring(html)
    (node,) = tree.xpath("//*[contains(concat(' ', @class, ' '), ' nl-headline ')]")
    return str(node.text_content()).strip()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_workspace(tmp_path_factory.mktemp("export") / "ws")
    for issue in (ISSUE, TRICKY):
        code, output = export(root, str(root / issue), "--all")
        assert code == 0, output
    return root


def test_all_writes_every_esp_and_reports_each(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    code, output = export(root, str(root / ISSUE), "--all")
    assert code == 0, output
    slug = "2025-06-26-putin-poaches-the-neighbors"
    lines = output.splitlines()
    assert [line.split("/")[3] for line in lines] == [
        "mailchimp",
        "sendgrid",
        "mailgun",
        "postmark",
        "ses",
        "eml",
    ]
    assert lines[0].startswith(f"exported out/{slug}/export/mailchimp/  template.html (")
    assert sorted(os.listdir(root / "out" / slug / "export" / "mailchimp")) == [
        "campaign.json",
        "template.html",
        "template.zip",
    ]


def test_mailchimp(ws: Path) -> None:
    out = files(ws, "2025-06-27-tricky", "mailchimp")
    html = out["template.html"].decode()
    assert "*|IF:FNAME|**|FNAME|**|ELSE:|*there*|END:IF|*" in html
    assert "*|EMAIL|*" in html and 'href="*|UNSUB|*"' in html
    assert 'href="*|ARCHIVE|*"' in html and 'href="*|UPDATE_PROFILE|*"' in html
    # the headline's typed *|FNAME|* is no merge tag for Mailchimp, yet reads as typed
    assert headline(html) == "Typed tags *|FNAME|* and {{ 7*7 }} and {{{ raw }}}"
    assert "&#42;|FNAME|*" in html and "%%" not in html
    campaign = json.loads(out["campaign.json"])
    assert campaign == {
        "type": "regular",
        "settings": {
            "subject_line": "Hi *|FNAME|*: *\u200b|FNAME|* and {{ 7*7 }}",
            "preview_text": "Typed {{ 7*7 }} and *\u200b|EMAIL|* stay as written",
            "title": "2025-06-27-tricky",
            "from_name": "GZERO Media",
            "reply_to": "newsletter@gzeromedia.com",
        },
    }
    archive = zipfile.ZipFile(io.BytesIO(out["template.zip"]))
    assert archive.namelist() == ["index.html", "images/budapest-pride.jpg"]
    assert (
        archive.read("images/budapest-pride.jpg") == (ws / "assets/budapest-pride.jpg").read_bytes()
    )
    index = archive.read("index.html").decode()
    assert 'src="images/budapest-pride.jpg"' in index and "newsletter-assets" not in index


@pytest.fixture(scope="module")
def handlebars() -> Handlebars:
    return Handlebars()


def test_mailchimp_preheader_is_the_preview_text_tag(ws: Path) -> None:
    html = files(ws, "2025-06-27-tricky", "mailchimp")["template.html"].decode()
    tree = lxml_html.fromstring(html)
    (hidden,) = tree.xpath("//div[contains(@class, 'nl-preheader')]")
    assert hidden.text_content() == "*|MC_PREVIEW_TEXT|*"
    assert "stay as written" not in html  # the preheader lives in campaign.json alone


def test_sendgrid_renders_in_handlebars(ws: Path, handlebars: Handlebars) -> None:
    version = json.loads(files(ws, "2025-06-27-tricky", "sendgrid")["template-version.json"])
    assert set(version) == {
        "name",
        "subject",
        "html_content",
        "plain_content",
        "generate_plain_content",
        "active",
        "editor",
    }
    assert version["generate_plain_content"] is False
    assert version["editor"] == "code" and version["active"] == 1
    assert "{{#if first_name}}{{first_name}}{{else}}there{{/if}}" in version["html_content"]
    assert 'href="<%asm_group_unsubscribe_raw_url%>"' in version["html_content"]
    assert 'href="<%asm_preferences_raw_url%>"' in version["html_content"]
    # [export] web_version_url stands where SendGrid has no tag
    web = "https://www.gzeromedia.com/newsletter/2025-06-27-tricky"
    assert f'href="{web}"' in version["html_content"]
    data = {"first_name": "Ann <3", "email": "ann@example.com"}
    html = handlebars.render(version["html_content"], data)
    assert "Hello Ann &lt;3, this goes to ann@example.com." in html
    assert headline(html) == "Typed tags *|FNAME|* and {{ 7*7 }} and {{{ raw }}}"
    text = handlebars.render(version["plain_content"], {"first_name": "", "email": "x@y.z"})
    assert "Hello there, this goes to x@y.z." in text
    assert "{\u200b{ 7*7 }}" in text
    subject = handlebars.render(version["subject"], {"first_name": "Ann & Bo"})
    assert subject == "Hi Ann & Bo: *|FNAME|* and {\u200b{ 7*7 }}"


def test_sendgrid_subject_limit(tmp_path: Path) -> None:
    from newsletter.targets.esp import sendgrid

    root = make_workspace(tmp_path / "ws")
    issue = root / "issues" / "2025-06-28-long-subject.yaml"
    issue.write_text(
        f"subject: {'Long ' * 50}%%first_name%%\npreheader: Long subject\ndate: 2025-06-28\n"
        "lead:\n  headline: Long\n  body: Hello.\n"
    )
    code, output = export(root, str(issue), "--esp", "sendgrid")
    assert code == 1
    assert f"over sendgrid's limit of {sendgrid.SUBJECT_LIMIT}; shorten the subject" in output


def test_mailgun(ws: Path) -> None:
    out = files(ws, "2025-06-27-tricky", "mailgun")
    template = json.loads(out["template.json"])
    assert set(template) == {"name", "description", "template", "engine", "headers"}
    assert template["engine"] == "handlebars" and template["name"] == "2025-06-27-tricky"
    assert 'href="%unsubscribe_url%"' in template["template"]
    subject = json.loads(template["headers"])["Subject"]
    assert subject.startswith("Hi %recipient.first_name_or_")
    text = out["template.txt"].decode()
    assert "{{" not in text.replace("{\u200b{", "")  # Mailgun does not render the text part
    assert "Hello %recipient.first_name_or_" in text
    assert "Unsubscribe: %unsubscribe_url%" in " ".join(text.split())
    described = json.loads(out["variables.json"])
    assert {v["field"] for v in described.values()} == {"first_name", "email"}
    assert {v["fallback"] for v in described.values()} == {"", "there"}


def test_postmark_renders_in_mustachio(ws: Path) -> None:
    template = json.loads(files(ws, "2025-06-27-tricky", "postmark")["template.json"])
    assert set(template) == {"Name", "Alias", "Subject", "HtmlBody", "TextBody", "TemplateType"}
    assert template["TemplateType"] == "Standard"
    assert template["Alias"] == "issue-2025-06-27-tricky"  # an alias starts with a letter
    assert 'href="{{{ pm:unsubscribe }}}"' in template["HtmlBody"]
    assert "Unsubscribe: {{{ pm:unsubscribe }}}" in " ".join(template["TextBody"].split())
    html = mustachio(template["HtmlBody"], {"first_name": "", "email": "a@b.c"})
    assert "Hello there, this goes to a@b.c." in html
    assert headline(html) == "Typed tags *|FNAME|* and {{ 7*7 }} and {{{ raw }}}"
    text = mustachio(template["TextBody"], {"first_name": "Bo & Co", "email": "a@b.c"})
    assert "Hello Bo & Co," in text
    assert mustachio(template["Subject"], {"first_name": "Alex"}).startswith("Hi Alex: ")


def test_ses(ws: Path) -> None:
    template = json.loads(files(ws, "2025-06-27-tricky", "ses")["template.json"])
    assert set(template) == {"TemplateName", "TemplateContent"}
    assert set(template["TemplateContent"]) == {"Subject", "Html", "Text"}
    assert template["TemplateName"] == "2025-06-27-tricky"
    content = template["TemplateContent"]
    # bulk sends cannot use SES list management: our own link, per destination, escaped in HTML
    assert 'href="{{unsubscribe_url_html}}"' in content["Html"]
    assert "amazonSESUnsubscribeUrl" not in json.dumps(content)
    assert "{{#if first_name}}{{first_name_html}}{{else}}there{{/if}}" in content["Html"]
    assert "{{{" not in content["Subject"] + content["Text"]  # moto and SES have no triple-stash


def test_ses_list_management_is_offered_for_one_recipient_sends(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", '[esp.ses]\nunsubscribe = "list-management"\n')
    code, output = export(root, str(root / ISSUE), "--esp", "ses")
    assert code == 0, output
    slug = "2025-06-26-putin-poaches-the-neighbors"
    content = json.loads(files(root, slug, "ses")["template.json"])["TemplateContent"]
    assert 'href="{{amazonSESUnsubscribeUrl}}"' in content["Html"]
    assert "unsubscribe_url" not in content["Html"]


def test_eml_is_the_sample_subscribers_message(ws: Path) -> None:
    message = parse(files(ws, "2025-06-27-tricky", "eml")["message.eml"])
    assert message["To"] == "alex@example.com"
    assert message["Subject"] == "Hi Alex: *|FNAME|* and {{ 7*7 }}"
    text, html = parts(message)
    assert "Hello Alex, this goes to alex@example.com." in text
    assert headline(html) == "Typed tags *|FNAME|* and {{ 7*7 }} and {{{ raw }}}"


def test_exports_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp = '[smtp]\nhost = "smtp.example.com"\nusername = "u"\npassword_env = "NL_PW"\n'
    root = make_workspace(tmp_path / "ws", smtp)
    monkeypatch.setenv("NL_PW", "s3cr3t-pw")
    code, output = export(root, str(root / ISSUE), "--all")
    assert code == 0, output
    for path in (root / "out").rglob("*"):
        if path.is_file():
            assert b"s3cr3t-pw" not in path.read_bytes(), path
            assert b"NL_PW" not in path.read_bytes(), path


def test_a_field_the_esp_lacks_is_an_error_naming_it(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", export_urls=False)
    code, output = export(root, str(root / ISSUE), "--esp", "postmark", "--esp", "mailchimp")
    assert code == 1
    assert output == (
        f"error: {ISSUE}: postmark has no merge tag for %%preferences_url%%, %%web_version_url%%; "
        "set [export] preferences_url, web_version_url in newsletter.toml to the URLs to use\n"
    )
    assert not (root / "out").exists()  # nothing written, not even Mailchimp's files


def test_size_limits(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    issue = root / "issues" / "2025-06-28-long.yaml"
    body = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 20 for i in range(250))
    issue.write_text(
        "subject: Long\npreheader: Very long\ndate: 2025-06-28\nlead:\n  headline: Long\n"
        "  body: |\n" + "".join(f"    {line}\n" for line in body.splitlines())
    )
    code, output = export(root, str(issue), "--esp", "mailgun")
    assert code == 1
    assert "mailgun: the template is " in output
    assert f"over mailgun's limit of {mailgun.TEMPLATE_LIMIT // 1024} KB" in output
    code, output = export(root, str(issue), "--esp", "ses")
    assert code == 0, output  # far below SES's 500 KB
    assert ses.TEMPLATE_LIMIT == 500 * 1024


def test_usage_errors(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    code, output = export(root, str(root / ISSUE))
    assert code == 2 and "say which ESP: --esp NAME (or --all)" in output
    code, output = export(root, str(root / ISSUE), "--esp", "hubspot")
    assert code == 2 and "'hubspot' is not one of 'mailchimp'" in output


def test_the_command_offers_every_exporter() -> None:
    from newsletter.cli.export import ESP_NAMES
    from newsletter.targets.esp import ESPS

    assert ESP_NAMES == ESPS  # the command names them without importing the exporters
