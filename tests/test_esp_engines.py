"""Each export rendered on its ESP's own engine, for a subscriber with a name, one without, and
one whose name is hostile: what the editor typed prints as written, the subscriber's value is
escaped in HTML and never evaluated, and the ESP's own tags are live.

Engines: Mustachio's rules for Postmark (:func:`esp_engines.mustachio`), handlebars.js 4.x under
node for SendGrid and Mailgun, moto's SES renderer in server mode for SES.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import html as lxml_html

from newsletter.mail.values import merge_values
from newsletter.model.artifact import Artifact
from newsletter.pipeline.stages import build_issue
from newsletter.targets.esp import mailgun, ses
from newsletter.targets.esp.base import ExportContext
from newsletter.targets.esp.dialect import ZWSP
from newsletter.workspace import load_workspace

from .delivery_support import make_workspace
from .esp_engines import (
    Handlebars,
    HandlebarsError,
    MotoSES,
    MustachioError,
    moto_server,
    mustachio,
)

ENGINE_ISSUE = """\
subject: "%%first_name|Friend%%, {%%first_name%%} and %recipient.email% and <%asm_preferences_raw_url%>"
preheader: "For %%first_name|you%%: typed {{ 7*7 }} stays"
date: 2025-06-29
lead:
  headline: Typed tags stay as written
  body: |
    Hello %%first_name|there%% (%%email%%). Braces {%%first_name%%} and {{ 7*7 }} and %recipient.first_name% and <%asm_group_unsubscribe_raw_url%> and \\*|FNAME|\\*.
teasers: []
"""

HOSTILE = "<img src=x onerror=alert(1)> {{7*7}} *|UNSUB|*"
SUBSCRIBERS = {
    "named": {"email": "alex@example.com", "first_name": "Alex"},
    "nameless": {"email": "sam@example.com", "first_name": ""},
    "hostile": {"email": "eve@example.com", "first_name": HOSTILE},
}
TYPED = "{{ 7*7 }} and %recipient.first_name% and <%asm_group_unsubscribe_raw_url%> and *|FNAME|*."
UNSUBSCRIBE = "https://esp.example/unsubscribe/42"


def expected_subject(row: Mapping[str, str]) -> str:
    name = row["first_name"]
    return f"{name or 'Friend'}, {{{name}}} and %recipient.email% and <%asm_preferences_raw_url%>"


def expected_body(row: Mapping[str, str]) -> str:
    name = row["first_name"]
    return f"Hello {name or 'there'} ({row['email']}). Braces {{{name}}} and {TYPED}"


@dataclass(frozen=True)
class Built:
    artifact: Artifact
    context: ExportContext
    root: Path

    def values(self, row: Mapping[str, str]) -> dict[str, str]:
        return merge_values(self.context.settings, self.artifact.slug, row)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    import datetime as dt

    root = make_workspace(tmp_path_factory.mktemp("engines") / "ws")
    issue = root / "issues" / "2025-06-29-engines.yaml"
    issue.write_text(ENGINE_ISSUE)
    workspace = load_workspace(root)
    result = build_issue(issue, workspace)
    assert result.artifact is not None, result.problems
    context = ExportContext(workspace.settings, root, dt.datetime(2025, 6, 29, tzinfo=dt.UTC))
    return Built(result.artifact, context, root)


@pytest.fixture(scope="module")
def handlebars() -> Handlebars:
    return Handlebars()


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSES]:
    with moto_server() as endpoint:
        yield MotoSES(endpoint)


def shown(text: str) -> str:
    """What a reader sees: zero-width spaces invisible, runs of white space as one."""
    return " ".join(text.replace(ZWSP, "").split())


def paragraph(html: str) -> str:
    """The lead's paragraph as a mail client shows it; fails if the HTML holds an injected
    element (the hostile name's ``<img>``)."""
    tree = lxml_html.fromstring(html)
    assert tree.xpath("//img[@src='x']") == [], "a subscriber's markup became HTML"
    (node,) = tree.xpath("//p[contains(., 'Braces')]")
    return shown(str(node.text_content()))


def text_line(text: str) -> str:
    (line,) = [p for p in text.split("\n\n") if "Braces" in p]
    return shown(line)


def check(row: Mapping[str, str], subject: str, html: str, text: str) -> None:
    assert shown(subject) == expected_subject(row)
    assert paragraph(html) == expected_body(row)
    assert text_line(text) == expected_body(row)


@pytest.mark.parametrize("who", SUBSCRIBERS)
def test_postmark_on_mustachio(built: Built, who: str) -> None:
    from newsletter.targets.esp import postmark

    template = postmark.template(built.artifact, built.context)
    row = SUBSCRIBERS[who]
    model = {"first_name": row["first_name"], "email": row["email"]}
    html = mustachio(template["HtmlBody"], model, UNSUBSCRIBE)
    text = mustachio(template["TextBody"], model, UNSUBSCRIBE)
    check(row, mustachio(template["Subject"], model), html, text)
    assert f'href="{UNSUBSCRIBE}"' in html and UNSUBSCRIBE in text


def test_mustachio_rules_match_its_readme_and_source() -> None:
    # the README's example
    readme = (
        "Dear {{name}}, this is definitely a personalized note to you. Very truly yours, {{sender}}"
    )
    assert mustachio(readme, {"name": "John", "sender": "Sally"}) == (
        "Dear John, this is definitely a personalized note to you. Very truly yours, Sally"
    )
    # README: complex paths, and ../ up one level
    model = {"this": {"is": {"a": {"valid": {"path": "deep"}}}}, "up": "top"}
    assert mustachio("{{ this.is.a.valid.path }}", model) == "deep"
    assert mustachio("{{#this}}{{#is}}{{ ../../up }}{{/is}}{{/this}}", model) == "top"
    # a section's scope is its value: no context stack, unlike spec Mustache (and chevron)
    assert mustachio("{{#first_name}}{{ first_name }}{{/first_name}}", {"first_name": "Alex"}) == ""
    assert mustachio("{{#first_name}}{{ . }}{{/first_name}}", {"first_name": "Alex"}) == "Alex"
    assert mustachio("{{^first_name}}there{{/first_name}}", {"first_name": ""}) == "there"
    assert mustachio("{{ x }}", {"x": "<b>&'é"}) == "&lt;b&gt;&amp;&#39;&#233;"
    with pytest.raises(MustachioError):
        mustachio("{{ 7*7 }}", {})  # a path of anything else fails the whole template


@pytest.mark.parametrize("who", SUBSCRIBERS)
def test_sendgrid_on_handlebars(built: Built, handlebars: Handlebars, who: str) -> None:
    from newsletter.targets.esp import sendgrid

    version = json.loads(sendgrid.export(built.artifact, built.context)["template-version.json"])
    row = SUBSCRIBERS[who]
    data = {"first_name": row["first_name"], "email": row["email"]}
    subject, html, text = handlebars.render_many(
        [(version[key], data) for key in ("subject", "html_content", "plain_content")]
    )
    assert isinstance(subject, str) and isinstance(html, str) and isinstance(text, str)

    def sendgrid_tags(rendered: str) -> str:  # what SendGrid does with an asm.group_id
        return rendered.replace("<%asm_group_unsubscribe_raw_url%>", UNSUBSCRIBE).replace(
            "<%asm_preferences_raw_url%>", UNSUBSCRIBE + "/preferences"
        )

    check(row, sendgrid_tags(subject), sendgrid_tags(html), sendgrid_tags(text))
    assert f'href="{UNSUBSCRIBE}"' in sendgrid_tags(html)
    assert f'href="{UNSUBSCRIBE}/preferences"' in sendgrid_tags(html)


_RECIPIENT = re.compile(r"%recipient\.([A-Za-z0-9_]+)%")


@pytest.mark.parametrize("who", SUBSCRIBERS)
def test_mailgun_on_handlebars_and_recipient_variables(
    built: Built, handlebars: Handlebars, who: str
) -> None:
    out = mailgun.export(built.artifact, built.context)
    template = json.loads(out["template.json"])
    used = mailgun.variables(built.artifact.email)
    described = json.loads(out["variables.json"])
    assert set(described) == {v.name for v in used}
    row = SUBSCRIBERS[who]
    variables = mailgun.recipient_values(used, built.values(row))

    def batch(rendered: str) -> str:  # Mailgun's per-recipient substitution in a batch
        rendered = _RECIPIENT.sub(lambda m: variables.get(m[1], m[0]), rendered)
        return rendered.replace("%unsubscribe_url%", UNSUBSCRIBE)

    html = batch(handlebars.render(template["template"], {}))
    subject = batch(json.loads(template["headers"])["Subject"])
    text = batch(out["template.txt"].decode())  # sent as `text`, not rendered by Handlebars
    check(row, subject, html, text)
    assert f'href="{UNSUBSCRIBE}"' in html and UNSUBSCRIBE in text


@pytest.mark.parametrize("who", SUBSCRIBERS)
def test_ses_on_motos_renderer(built: Built, moto: MotoSES, who: str) -> None:
    template = json.loads(ses.export(built.artifact, built.context)["template.json"])
    name = template["TemplateName"] + "-" + who
    moto.create(name, template["TemplateContent"])
    row = SUBSCRIBERS[who]
    values = built.values(row)
    rendered = moto.render(name, ses.template_data(values))
    check(row, rendered.subject, rendered.html, rendered.text)
    # our own signed unsubscribe link, per destination (SendBulkEmail has no list management)
    assert values["unsubscribe_url"] and "{{" not in values["unsubscribe_url"]
    unsubscribe = lxml_html.fromstring(rendered.html).xpath("//a[contains(., 'nsubscribe')]/@href")
    assert unsubscribe == [values["unsubscribe_url"]]


def test_handlebars_is_the_real_engine(handlebars: Handlebars) -> None:
    assert handlebars.render("{{a}} {{{a}}}", {"a": "<b>"}) == "&lt;b&gt; <b>"
    assert handlebars.version.startswith("4.")
    (failed,) = handlebars.render_many([("{{#if a}}", {})])
    assert isinstance(failed, HandlebarsError)


def test_the_old_dialects_would_fail_here(built: Built, handlebars: Handlebars) -> None:
    """The triple-stash a ``{`` next to a merge field made, on the real engine: the reason the
    edges of every tag are defused."""
    html = handlebars.render("{{{first_name}}}", {"first_name": HOSTILE})
    assert "<img src=x" in html
