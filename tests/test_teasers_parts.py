"""The parts behind ``newsletter teasers add``, each on its own: metadata, URLs, the fetcher's
address rules, round-trip editing and images. Real inputs, no network beyond refusals that
never connect."""

from __future__ import annotations

import io
import ipaddress
from pathlib import Path

import pytest
import yaml
from PIL import Image

from newsletter.errors import NewsletterError
from newsletter.fetch import client
from newsletter.fetch.client import FetchError, FetchPolicy, fetch, parse_host
from newsletter.fetch.edit import IssueDocument, mark, replace_file
from newsletter.fetch.images import prepare, sniff
from newsletter.fetch.metadata import canonical_url, clean, extract, trim

from .conftest import EXAMPLE

PAGE = "https://news.example.com/world/a-story"


def page(head: str, html_attrs: str = "") -> bytes:
    return f"<!DOCTYPE html><html {html_attrs}><head>{head}</head><body></body></html>".encode()


# -- metadata ---------------------------------------------------------------------------------


def test_json_ld_inside_main_entity_with_a_broken_block_beside_it() -> None:
    body = page(
        '<script type="application/ld+json">{"broken": </script>'
        '<script type="application/ld+json; charset=utf-8">'
        '/*<![CDATA[*/{"@type": "WebPage", "mainEntity": {"@type": ["ReportageNewsArticle"], '
        '"headline": "Inside", "description": "Nested", "author": ["A", "B", {"name": "C"}]}}'
        "/*]]>*/</script>"
    )
    article = extract(body, PAGE)
    assert (article.headline, article.description, article.author) == (
        "Inside",
        "Nested",
        "A, B and C",
    )


def test_the_pages_own_article_wins_over_related_ones_listed_before_it() -> None:
    related = '{"@type": "ItemList", "itemListElement": [{"@type": "ListItem", "item": {"@type": "NewsArticle", "headline": "Related"}}]}'
    own = '{"@type": "NewsArticle", "headline": "Own", "description": "Mine"}'
    body = page(f'<script type="application/ld+json">[{related}, {own}]</script>')
    assert extract(body, PAGE).headline == "Own"
    deep = "[" * 5000 + "]" * 5000  # too deep for json: ignored, the rest still counts
    body = page(f'<script type="application/ld+json">{deep}</script><title>Title</title>')
    assert extract(body, PAGE).headline == "Title"


def test_twitter_card_when_there_is_no_open_graph() -> None:
    body = page(
        "<title>Title | Site</title>"
        '<meta name="twitter:title" content="Tweet title">'
        '<meta name="twitter:description" content="Tweet text">'
        '<meta name="twitter:image:src" content="/img/card.png">'
        '<meta name="twitter:image:alt" content="A card">'
    )
    article = extract(body, PAGE)
    assert (article.headline, article.description) == ("Tweet title", "Tweet text")
    assert article.image is not None
    assert (article.image.src, article.image.alt) == (
        "https://news.example.com/img/card.png",
        "A card",
    )


@pytest.mark.parametrize(
    ("title", "site", "expected"),
    [
        ("Headline | Site", None, "Headline"),
        ("Headline - GZERO Media", "GZERO Media", "Headline"),
        ("Ukraine war - live updates", None, "Ukraine war - live updates"),
        ("Just a headline", None, "Just a headline"),
    ],
)
def test_the_title_loses_the_site_name_only(title: str, site: str | None, expected: str) -> None:
    og = f'<meta property="og:site_name" content="{site}">' if site else ""
    assert extract(page(f"<title>{title}</title>{og}"), PAGE).headline == expected


def test_the_page_charset_and_language_and_robots() -> None:
    body = (
        '<html lang="de"><head><meta charset="iso-8859-1"><title>Gr\xfc\xdfe</title>'
        '<meta name="robots" content="none"></head></html>'
    ).encode("latin-1")
    article = extract(body, PAGE)
    assert (article.headline, article.lang, article.noindex) == ("Grüße", "de", True)
    assert extract(body, PAGE, charset="iso-8859-1").headline == "Grüße"


def test_clean_decodes_entities_drops_markup_and_invisible_characters() -> None:
    assert clean("Trump&amp;#8217;s &lt;b&gt; &amp;amp;") == "Trump’s <b> &"
    assert clean("<p>One&nbsp;<em>two</em></p>\n\n three\u00ad\u200b") == "One two three"
    assert clean("می\u200cخواهم") == "می\u200cخواهم"  # Persian keeps its zero-width non-joiner
    assert clean("   ") is None
    assert clean({"not": "text"}) is None


def test_trim_cuts_at_a_word_and_marks_it() -> None:
    assert trim("short", 10) == "short"
    assert trim("one two three four", 12) == "one two…"
    assert trim("one two, three", 10) == "one two…"
    assert trim("x" * 40, 10) == "x" * 9 + "…"
    assert trim(None, 10) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.com:443/a?utm_source=x&b=1#top", "https://www.example.com/a?b=1"),
        ("https://example.com/a?fbclid=1&gclid=2&mc_cid=3&Utm_Medium=4", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        (
            "http://example.com:8080/a%20b?q=a%20b&ref=x",
            "http://example.com:8080/a%20b?q=a%20b&ref=x",
        ),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


# -- the fetcher's rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("100.64.0.1", "non-public"),
        ("fc00::1", "private"),
    ],
)
def test_non_public_addresses_are_refused_without_connecting(address: str, kind: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchError, match=f"^refused: {address} is an? {kind} address; "):
        fetch(f"http://{host}:9/", FetchPolicy())


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert client._why_not_public(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", r"not an http\(s\) URL"),
        ("https://user:secret@example.com/", "has a user name or password in it"),
        ("https:///nohost", r"not an http\(s\) URL"),
    ],
)
def test_urls_that_are_never_fetched(url: str, message: str) -> None:
    with pytest.raises(FetchError, match=message) as caught:
        fetch(url, FetchPolicy())
    assert "secret" not in str(caught.value)


def test_allowed_hosts_are_parsed_with_and_without_a_port() -> None:
    assert parse_host("Intranet.Example:8080") == ("intranet.example", 8080)
    assert parse_host("cms") == ("cms", None)
    assert parse_host("[::1]:8000") == ("::1", 8000)
    with pytest.raises(ValueError, match="expected HOST or HOST:PORT"):
        parse_host("cms:http")
    policy = FetchPolicy(allow_hosts=frozenset({("cms", None), ("db", 5432)}))
    assert policy.allows("cms", 80) and policy.allows("db", 5432)
    assert not policy.allows("db", 80)


# -- editing ----------------------------------------------------------------------------------


def _teaser(document: IssueDocument, url: str) -> None:
    from ruamel.yaml.comments import CommentedMap

    teaser = CommentedMap(headline="New", url=url, summary="A summary.")
    mark(teaser, ["headline", "url", "summary"], f"from {url}")
    document.append_teaser(teaser)


def test_the_example_issue_keeps_every_line(workspace_dir: Path) -> None:
    path = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    before = path.read_text(encoding="utf-8")
    document = IssueDocument.read(path, "example")
    assert document.text() == before
    _teaser(document, "https://example.com/new")
    after = document.text()
    assert after.startswith(before)
    assert after[len(before) :] == (
        "\n"  # its teasers are separated by blank lines, and so is the new one
        "  - headline: New  # from https://example.com/new\n"
        "    url: https://example.com/new # from https://example.com/new\n"
        "    summary: A summary. # from https://example.com/new\n"
    )


def test_a_teaser_taken_off_again_leaves_no_trace_and_the_next_is_spaced_too(
    workspace_dir: Path,
) -> None:
    path = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    before = path.read_text(encoding="utf-8")
    document = IssueDocument.read(path, "example")
    _teaser(document, "https://example.com/refused")
    document.teasers().pop()
    assert document.text() == before
    _teaser(document, "https://example.com/one")
    _teaser(document, "https://example.com/two")
    added = document.text()[len(before) :]
    assert added.startswith("\n  - headline: New  # from https://example.com/one\n")
    assert "\n\n  - headline: New  # from https://example.com/two\n" in added


def test_other_indentation_and_a_flow_list_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "subject: 'Quoted'   # a comment\nlead:\n    headline: Four spaces\nteasers: []  # none yet\n",
        encoding="utf-8",
    )
    document = IssueDocument.read(path, "x.yaml")
    _teaser(document, "https://example.com/new")
    assert document.text() == (
        "subject: 'Quoted'   # a comment\n"
        "lead:\n"
        "    headline: Four spaces\n"
        "teasers:     # none yet\n"  # the comment keeps its column
        "  - headline: New  # from https://example.com/new\n"
        "    url: https://example.com/new # from https://example.com/new\n"
        "    summary: A summary. # from https://example.com/new\n"
    )
    assert yaml.safe_load(document.text())["teasers"][0]["headline"] == "New"


def test_a_markdown_issue_without_front_matter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("Just Markdown.\n", encoding="utf-8")
    with pytest.raises(NewsletterError, match=r"x\.md: a \.md issue starts with YAML front matter"):
        IssueDocument.read(path, "x.md")


def test_replace_file_is_atomic_and_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    path.chmod(0o640)
    with pytest.raises(NewsletterError, match=r"x\.yaml: changed while the pages were read"):
        replace_file(path, "a: 2\n", "a: 0\n", "x.yaml")
    replace_file(path, "a: 2\n", "a: 1\n", "x.yaml")
    assert path.read_text(encoding="utf-8") == "a: 2\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["x.yaml"]  # no temporary file left
    windows = tmp_path / "w.yaml"
    windows.write_bytes(b"a: 1\r\nb: 2\r\n")
    document = IssueDocument.read(windows, "w.yaml")
    document.data["c"] = 3
    replace_file(windows, document.text(), document.original, "w.yaml")
    assert windows.read_bytes() == b"a: 1\r\nb: 2\r\nc: 3\r\n"


# -- images -----------------------------------------------------------------------------------


def _image(fmt: str, size: tuple[int, int], mode: str = "RGB", **options: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200) if mode == "RGB" else (10, 120, 200, 90)).save(
        out, fmt, **options
    )
    return out.getvalue()


def test_images_are_checked_by_content_and_resized() -> None:
    big = prepare(_image("JPEG", (1800, 900)))
    assert (big.extension, big.width, sniff(big.data)) == ("jpg", 600, "jpeg")
    with Image.open(io.BytesIO(big.data)) as image:
        assert image.size == (600, 300)
    small_png = prepare(_image("PNG", (300, 200), "RGBA"))
    assert (small_png.extension, small_png.width) == ("png", 300)
    webp = prepare(_image("WEBP", (800, 400)))
    assert (webp.extension, webp.width) == ("jpg", 600)  # Outlook shows no WebP
    frames = [Image.new("RGB", (700, 100), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    animated = prepare(out.getvalue())
    assert (animated.extension, animated.data) == ("gif", out.getvalue())  # kept as it was


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>not an image</html>", "is not a JPEG, PNG, GIF or WebP image"),
        (b"\xff\xd8\xff" + b"\x00" * 50, "cannot be read as an image"),
        (b"%PDF-1.7", "is not a JPEG, PNG, GIF or WebP image"),
    ],
)
def test_what_is_not_an_image_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare(data)
