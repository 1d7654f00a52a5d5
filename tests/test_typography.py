"""Typographic quotes: the editor types straight ones, the subscriber reads curly ones (and
U+2019 for an apostrophe) in the HTML and the plain text, in each story's language; code,
links and merge fields stay as written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from newsletter.model.artifact import BuildResult

from .conftest import parse

ISSUE = """\
subject: "The \\"deal\\" that wasn't"
preheader: "What \\"allies\\" means now."
date: 2025-06-26
lead:
  kicker: "Trump's week"
  headline: "The \\"deal\\" that wasn't"
  byline: "By O'Brien"
  url: https://www.gzeromedia.com/news/deal
  image: {src: assets/nato-summit-hague.jpg, alt: "NATO's leaders.", caption: "The leaders' \\"family photo\\"", credit: Reuters}
  body: |
    Hello %%first_name|y'all%%, it's "the deal" again: 'they said' it's done.

    Run `print("hi")` and read [the "report"](https://example.com/a?q='x' "the 'title'").
teasers:
  - headline: "Macron dit \\"non\\""
    url: https://www.gzeromedia.com/news/fr
    lang: fr
    summary: "L'Élysée parle d'un \\"accord\\" impossible."
"""


def test_straight_quotes_become_typographic_in_html_and_text(
    write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    email = build(write_issue(ISSUE)).email
    doc = parse(email.html)
    assert doc.findtext(".//h1//a") == "The “deal” that wasn’t"
    assert "Trump’s week" in doc.text_content()
    assert "By O’Brien" in doc.text_content()
    assert "The leaders’ “family photo”" in doc.text_content()
    body = doc.xpath("//*[contains(@class, 'nl-body-text')]")[0]
    first, second = (p.text_content() for p in body.iter("p"))
    assert first == "Hello %%first_name|y'all%%, it’s “the deal” again: ‘they said’ it’s done."
    assert second == 'Run print("hi") and read the “report”.'
    link = body.xpath(".//a")[0]
    assert link.get("href").startswith("https://example.com/a?q='x'")
    assert link.get("title") == "the 'title'"
    teaser = doc.xpath("//h3")[0]
    assert teaser.text_content() == "Macron dit «\u202fnon\u202f»"
    assert "L’Élysée parle d’un «\u202faccord\u202f» impossible." in doc.text_content()
    # alt text (an attribute), the subject and the preheader (headers and inbox lines, taken
    # from the issue as it is by the ESPs and the journal) stay as written
    assert doc.xpath("//img")[0].get("alt") == "NATO's leaders."
    assert email.subject == 'The "deal" that wasn\'t'
    assert email.preheader == 'What "allies" means now.'
    for line in (
        "The “deal” that wasn’t",
        "TRUMP’S WEEK",
        "Hello %%first_name|y'all%%, it’s “the deal” again: ‘they said’ it’s done.",
        'Run print("hi") and read the “report” (https://example.com/a?q=',
        "Macron dit «\u202fnon\u202f»",
    ):
        assert line in email.text, line


def test_an_issue_or_a_theme_can_keep_its_quotes_as_written(
    workspace_dir: Path, write_issue: Callable[..., Path], build: Callable[..., BuildResult]
) -> None:
    off = build(write_issue("smart_quotes: false\n" + ISSUE)).email
    assert parse(off.html).findtext(".//h1//a") == 'The "deal" that wasn\'t'
    assert 'it\'s "the deal" again' in off.text
    config = workspace_dir / "newsletter.toml"
    config.write_text(config.read_text() + "\n[theme.layout]\nsmart_quotes = false\n")
    themed = build(write_issue(ISSUE)).email
    assert parse(themed.html).findtext(".//h1//a") == 'The "deal" that wasn\'t'
    on = build(write_issue("smart_quotes: true\n" + ISSUE)).email  # the issue has the last word
    assert parse(on.html).findtext(".//h1//a") == "The “deal” that wasn’t"


def test_one_function_sets_a_plain_field_as_the_typographer_sets_the_body() -> None:
    from newsletter.pipeline.markdown import to_html, typographic

    for text in ('He said "it\'s done" at 5', "'Quoted' and 'nested \"here\"'", "rock 'n' roll"):
        assert f"<p>{typographic(text, 'en')}</p>\n" == to_html(text).replace("&quot;", '"')
    assert (
        typographic("%%first_name|y'all%%, it's \"on\"", "en") == "%%first_name|y'all%%, it’s “on”"
    )
    assert typographic('Sie sagte "ja"', "de-AT") == "Sie sagte „ja“"
    assert typographic('Он сказал "да"', "ru") == "Он сказал «да»"
    assert typographic("No quotes at all", "en") == "No quotes at all"


def test_the_checks_read_a_body_as_the_theme_rendered_it_whatever_its_quotes() -> None:
    import re

    from newsletter.pipeline.markdown import quote_marks, rendered_html, to_html

    body = 'Il a dit "non" à [l\'OTAN](https://www.gzeromedia.com/otan?a=1&b="2") hier.'
    french = to_html(body, quote_marks("fr"))
    assert rendered_html(body) == french != to_html(body)  # not set again in English marks
    links = re.findall(r'href="([^"]*)"', french)
    assert links == re.findall(r'href="([^"]*)"', to_html(body, None)) != []
    unseen = "A body no theme has rendered, with [a link](https://www.gzeromedia.com/x)."
    assert rendered_html(unseen) == to_html(unseen)
