"""``newsletter site``: the example and a 30-issue workspace built into a real folder, read
back as a browser, a feed reader and a search engine would."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from newsletter.cli import cli
from newsletter.commands.scaffold import create_workspace
from newsletter.commands.site import build_site
from newsletter.errors import NewsletterError, ProblemsError
from newsletter.targets.web.images import Images
from newsletter.workspace import load_workspace
from tests.conftest import EXAMPLE
from tests.site.conftest import BASE, links, pages, parse, site_file

TODAY = dt.date(2025, 7, 1)


def _build(root: Path, **options: object) -> Path:
    out = root / "out" / "_site"
    build_site(load_workspace(root), today=TODAY, **options)  # type: ignore[arg-type]
    return out


def test_the_example_has_a_page_at_its_web_version_url(workspace_dir: Path) -> None:
    site = _build(workspace_dir)
    page = parse(site / EXAMPLE / "index.html")
    assert page.get("lang") == "en"
    canonical = page.xpath("//link[@rel='canonical']/@href")
    assert canonical == [f"{BASE}{EXAMPLE}"]
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.iter("meta")}
    assert meta["og:title"] == "Putin poaches the neighbors for his Ukraine invasion"
    assert meta["og:url"] == f"{BASE}{EXAMPLE}"
    assert meta["og:description"].startswith("Russia is recruiting")
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image"].startswith(f"{BASE}assets/putin-poaches-the-neighbors.")
    assert site_file(site, site / EXAMPLE / "index.html", meta["og:image"]).is_file()  # type: ignore[union-attr]
    # a web layout, not the email's tables: one article with the content
    assert page.xpath("//table") == []
    (article,) = page.xpath("//main//article")
    assert article.xpath(".//h1")[0].text_content() == (
        "Putin poaches the neighbors for his Ukraine invasion"
    )
    assert "Poach the neighbors instead!" in article.text_content()
    teasers = article.xpath(".//section//h3")
    assert [h.text_content() for h in teasers][:2] == [
        "Budapest Pride goes ahead despite ban",
        "From Swan Lake to the feed, the fight to control information",
    ]


def test_every_link_of_every_page_is_absolute_or_a_file_of_the_site(site30: Path) -> None:
    site = site30
    checked = 0
    for path in pages(site):
        text = path.read_text(encoding="utf-8")
        assert "%%" not in text, path
        tree = parse(path)
        for url in links(tree):
            if url.startswith("#"):  # the skip link: to an element of the page itself
                assert tree.xpath(f"//*[@id='{url[1:]}']"), (path, url)
                continue
            assert url and not url.startswith(("javascript:", "file:")), (path, url)
            target = site_file(site, path, url)
            if target is not None:
                assert target.is_file(), f"{path.relative_to(site)} links {url}: no such file"
                checked += 1
    assert checked > 31 * 20  # every page links its images, the archive and the feeds


def test_merge_fields_are_neutral_and_there_is_no_unsubscribe_link(
    workspace_dir: Path, write_issue: Callable[..., Path]
) -> None:
    write_issue(
        """\
subject: Hello %%first_name|reader%%
date: 2025-06-27
lead:
  headline: A headline for %%first_name|everyone%%
  body: |
    Hello, %%first_name|there%%! Your address: %%email|none given%%.
teasers: []
"""
    )
    site = _build(workspace_dir)
    page_path = site / "2025-06-26-test" / "index.html"
    page = parse(page_path)
    text = page_path.read_text(encoding="utf-8")
    assert "%%" not in text
    assert "Alex" not in text and "alex@example.com" not in text  # nobody's sample values
    assert "unsubscribe" not in text.lower()
    assert "Hello, there!" in page.text_content()
    assert page.xpath("//title")[0].text == "Hello reader | GZERO Daily"
    assert "Your address: none given." in page.text_content()
    hrefs = {a.text_content(): a.get("href") for a in page.iter("a")}
    assert hrefs["Subscribe"] == "https://www.gzeromedia.com"  # [site] subscribe_url: site_url


def test_content_is_data_on_the_web_too(
    workspace_dir: Path, write_issue: Callable[..., Path]
) -> None:
    write_issue(
        """\
subject: "{{ 7*7 }} <script>alert(1)</script>"
date: 2025-06-27
lead:
  headline: "{% raw %}{{ 7*7 }}"
  body: "<img src=x onerror=alert(1)> and [a link](javascript:alert(1))"
teasers: []
"""
    )
    site = _build(workspace_dir)
    page = parse(site / "2025-06-26-test" / "index.html")
    assert page.xpath("//h1")[0].text_content() == "{% raw %}{{ 7*7 }}"
    assert page.xpath("//title")[0].text.startswith("{{ 7*7 }} <script>")
    assert page.xpath("//script") == [] and page.xpath("//img[@onerror]") == []
    assert not [a for a in page.iter("a") if "javascript" in (a.get("href") or "")]


def test_the_archive_is_paginated_newest_first(site30: Path) -> None:
    site = site30
    first, second = parse(site / "index.html"), parse(site / "page" / "2" / "index.html")
    assert not (site / "page" / "3").exists()
    titles = [h.text_content() for h in first.xpath("//h2[@class='card-title']")]
    titles += [h.text_content() for h in second.xpath("//h2[@class='card-title']")]
    assert len(titles) == 31
    assert titles[:3] == [
        "Putin poaches the neighbors for his Ukraine invasion",
        "Issue number 30 of the archive",
        "Issue number 29 of the archive",
    ]
    assert titles[-1] == "Issue number 1 of the archive"
    dates = [t.get("datetime") for t in [*first.iter("time"), *second.iter("time")]]
    assert dates == sorted(dates, reverse=True)
    card = first.xpath("//ul[@class='cards']/li")[0]
    assert card.xpath(".//img/@alt") == ["Russian President Vladimir Putin."]
    assert "Central Asian migrants" in card.text_content()  # the preheader
    assert first.xpath("//a[@rel='next']/@href") == ["page/2/"]
    assert second.xpath("//a[@rel='prev']/@href") == ["../../"]


def test_the_feeds_parse_and_carry_the_whole_content_with_absolute_urls(site30: Path) -> None:
    site = site30
    atom = feedparser.parse((site / "feed.xml").read_bytes())
    assert atom.version == "atom10" and not atom.bozo
    assert atom.feed.title == "GZERO Daily"
    assert atom.feed.id == BASE and atom.feed.updated.startswith("2025-06-26")
    assert atom.feed.author == "GZERO Media"
    assert [link.href for link in atom.feed.links if link.rel == "self"] == [f"{BASE}feed.xml"]
    assert len(atom.entries) == 20  # [site] feed_entries
    entry = atom.entries[0]
    assert entry.id == entry.link == f"{BASE}{EXAMPLE}"
    assert entry.title == "Putin poaches the neighbors for his Ukraine invasion"
    assert entry.updated_parsed[:3] == (2025, 6, 26)
    content = entry.content[0].value
    assert "Poach the neighbors instead!" in content and "%%" not in content
    assert f'src="{BASE}assets/putin-poaches-the-neighbors.' in content
    assert 'src="../' not in content and 'href="../' not in content

    document = json.loads((site / "feed.json").read_bytes())
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "GZERO Daily"
    assert document["feed_url"] == f"{BASE}feed.json" and document["home_page_url"] == BASE
    assert len(document["items"]) == 20
    for item in document["items"]:
        assert item["id"] and item["url"].startswith(BASE)
        assert "<h1>" in item["content_html"]
        dt.datetime.fromisoformat(item["date_published"])  # RFC 3339
    assert document["items"][0]["image"].startswith(f"{BASE}assets/")


def test_the_sitemap_lists_every_page(site30: Path) -> None:
    site = site30
    tree = etree.fromstring((site / "sitemap.xml").read_bytes())
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = tree.xpath("//s:url/s:loc/text()", namespaces=ns)
    assert len(locs) == len(set(locs)) == 31 + 2
    assert BASE in locs and f"{BASE}page/2/" in locs and f"{BASE}{EXAMPLE}" in locs
    for loc in locs:
        assert site_file(site, site / "index.html", loc).is_file()  # type: ignore[union-attr]
    page = f"{BASE}{EXAMPLE}"
    lastmods = tree.xpath(f"//s:url[s:loc='{page}']/s:lastmod/text()", namespaces=ns)
    assert lastmods == ["2025-06-26"]


def test_images_are_copied_once_with_their_sizes(
    workspace_dir: Path, many_issues: Callable[[int], list[Path]]
) -> None:
    many_issues(5)
    site = _build(workspace_dir)
    assets = sorted(p.name for p in (site / "assets").iterdir())
    # the originals, where the email links them under asset_base_url, and each size once
    assert (site / "assets" / "putin-poaches-the-neighbors.jpg").read_bytes() == (
        workspace_dir / "assets" / "putin-poaches-the-neighbors.jpg"
    ).read_bytes()
    lead = [n for n in assets if n.startswith("putin-poaches-the-neighbors.") and "w." in n]
    widths = {}
    for name in lead:
        with Image.open(site / "assets" / name) as image:
            widths[int(name.split(".")[1].removesuffix("w"))] = image.size
            assert image.format == "JPEG"
    # 680 and 2 x 680 for the article (the original is 1200 wide: not scaled up), 320 and 640
    # for the archive's cards
    assert widths == {680: (680, 382), 1200: (1200, 675), 320: (320, 180), 640: (640, 360)}
    small = next(n for n in lead if ".680w." in n)
    assert (site / "assets" / small).stat().st_size < (
        workspace_dir / "assets" / "putin-poaches-the-neighbors.jpg"
    ).stat().st_size
    page = parse(site / EXAMPLE / "index.html")
    img = page.xpath("//figure/img")[0]
    assert img.get("width") == "680" and img.get("height") == "382"
    assert [c.split()[1] for c in img.get("srcset").split(", ")] == ["680w", "1200w"]


def test_drafts_and_future_issues_stay_out_unless_asked_for(
    workspace_dir: Path, write_issue: Callable[..., Path]
) -> None:
    draft = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text(encoding="utf-8")
    write_issue(draft.replace("date: 2025-06-26", "date: 2025-06-27\ndraft: true"), "a-draft.yaml")
    write_issue(draft.replace("date: 2025-06-26", "date: 2025-07-02"), "a-future.yaml")
    report = build_site(load_workspace(workspace_dir), today=TODAY)
    site = report.folder
    assert sorted(report.left_out) == ["issues/a-draft.yaml", "issues/a-future.yaml"]
    assert not (site / "a-draft").exists() and not (site / "a-future").exists()
    for name in ("feed.xml", "feed.json", "sitemap.xml", "index.html"):
        assert b"a-draft" not in (site / name).read_bytes()
    report = build_site(load_workspace(workspace_dir), today=TODAY, drafts=True)
    assert report.left_out == {}
    assert (site / "a-draft" / "index.html").is_file() and (
        site / "a-future" / "index.html"
    ).is_file()
    robots = parse(site / "a-draft" / "index.html").xpath("//meta[@name='robots']/@content")
    assert robots == ["noindex"]


def test_a_problem_anywhere_writes_nothing(
    workspace_dir: Path, write_issue: Callable[..., Path], tmp_path: Path
) -> None:
    site = _build(workspace_dir)
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    write_issue("subject: broken\ndate: June 26\n", "broken.yaml")
    with pytest.raises(ProblemsError) as raised:
        _build(workspace_dir)
    assert any(str(p).startswith("issues/broken.yaml:2: date:") for p in raised.value.problems)
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before


def test_an_image_that_links_out_of_the_workspace_is_refused(
    workspace_dir: Path, write_issue: Callable[..., Path], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes((workspace_dir / "assets" / "budapest-pride.jpg").read_bytes())
    os.symlink(secret, workspace_dir / "assets" / "linked.jpg")
    write_issue(
        """\
subject: A subject
date: 2025-06-27
lead:
  headline: A headline
  image: {src: assets/linked.jpg, alt: A photo of something.}
  body: Text.
"""
    )
    with pytest.raises(ProblemsError) as raised:
        _build(workspace_dir)
    (problem,) = raised.value.problems
    assert str(problem).startswith(
        "issues/2025-06-26-test.yaml:5: lead.image.src: assets/linked.jpg"
    )
    assert "outside the workspace" in problem.message
    assert not (workspace_dir / "out" / "_site").exists()


def test_a_web_version_url_without_slug_is_one_line_naming_the_key(workspace_dir: Path) -> None:
    config = workspace_dir / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            'web_version_url = "https://www.gzeromedia.com/newsletter/{slug}"\npreferences',
            'web_version_url = "https://www.gzeromedia.com/newsletter/"\npreferences',
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["site", "--workspace", str(workspace_dir)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(
        "newsletter.toml: newsletter.web_version_url: the web archive needs a page per issue"
    )
    assert not (workspace_dir / "out").exists()


def test_the_cli_builds_the_site_and_says_what_it_left_out(
    workspace_dir: Path, write_issue: Callable[..., Path], tmp_path: Path
) -> None:
    text = (workspace_dir / "issues" / f"{EXAMPLE}.yaml").read_text(encoding="utf-8")
    write_issue(text.replace("date: 2025-06-26", "date: 2025-06-26\ndraft: true"), "draft.yaml")
    out = tmp_path / "public"
    result = CliRunner().invoke(cli, ["site", "-w", str(workspace_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"built {out}/  1 issue page(s), ")
    assert lines[0].endswith(f"for {BASE} (1 page(s) made anew)")
    assert lines[1] == "  left out issues/draft.yaml: draft (--drafts includes it)"
    assert (out / EXAMPLE / "index.html").is_file()


def test_a_new_workspace_makes_a_site(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    create_workspace(folder, "The Weekly", today=TODAY)
    report = build_site(load_workspace(folder), today=TODAY)
    assert report.base_url == "https://example.com/newsletter/"
    (page,) = report.pages
    assert page == f"{TODAY.isoformat()}-first-issue/index.html"
    html = (report.folder / page).read_text(encoding="utf-8")
    assert "%%" not in html and "Hello, there!" in html


def test_a_right_to_left_issue_with_a_remote_image(
    workspace_dir: Path, write_issue: Callable[..., Path]
) -> None:
    write_issue(
        """\
subject: عنوان العدد
date: 2025-06-27
lang: ar
lead:
  headline: عنوان الخبر
  image: {src: "https://images.example.com/a.jpg", alt: صورة, width: 400}
  body: نص الخبر.
teasers: []
"""
    )
    site = _build(workspace_dir)
    page = parse(site / "2025-06-26-test" / "index.html")
    assert (page.get("lang"), page.get("dir")) == ("ar", "rtl")
    img = page.xpath("//figure/img")[0]
    assert (img.get("src"), img.get("srcset"), img.get("width")) == (
        "https://images.example.com/a.jpg",
        None,
        "400",
    )
    meta = {m.get("property") or m.get("name"): m.get("content") for m in page.iter("meta")}
    assert meta["og:image"] == "https://images.example.com/a.jpg"
    card = parse(site / "index.html").xpath("//ul[@class='cards']/li")[0]
    assert card.get("dir") == "rtl" and card.get("lang") == "ar"


def test_the_web_target_reads_no_image_through_a_link_out_of_the_workspace(
    workspace_dir: Path, tmp_path: Path
) -> None:
    """The loader refuses such an image first; the web target checks again when it reads the
    file, since a link can be swapped in between."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes((workspace_dir / "assets" / "budapest-pride.jpg").read_bytes())
    os.symlink(secret, workspace_dir / "assets" / "linked.jpg")
    images = Images(workspace_dir)
    with pytest.raises(NewsletterError, match="leads outside the workspace"):
        images.picture("assets/linked.jpg", 320)
    assert images.files() == {}
    picture = images.picture("assets/budapest-pride.jpg", 320)
    assert [(s.width, s.height) for s in picture.sizes] == [(320, 180), (600, 338)]


def test_a_new_workspace_makes_publishes_and_checks_its_site_from_the_command_line(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["init", str(tmp_path / "news"), "--name", "The Weekly"]).exit_code == 0
    )
    ws = str(tmp_path / "news")
    site = runner.invoke(cli, ["site", "-w", ws])
    assert site.exit_code == 0, site.output
    assert "warning" not in site.output and "left out" not in site.output
    published = runner.invoke(cli, ["publish", "-w", ws, "--to", str(tmp_path / "www")])
    assert published.exit_code == 0, published.output
    checked = runner.invoke(cli, ["check", "-w", ws, "--json"])
    assert checked.exit_code == 0, checked.output
    assert [f for f in json.loads(checked.output) if f["id"].startswith("site-")] == []
