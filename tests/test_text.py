"""The plain-text part: rendered from the issue, readable on its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from newsletter.model.artifact import BuildResult
from newsletter.pipeline.markdown import to_text

from .conftest import EXAMPLE, parse


def example_text(build: Callable[..., BuildResult], workspace_dir: Path) -> tuple[str, str]:
    result = build(workspace_dir / "issues" / f"{EXAMPLE}.yaml")
    assert result.email is not None
    return result.email.text, result.email.html


def test_lines_are_wrapped_at_78_columns_except_lone_urls(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    text, _ = example_text(build, workspace_dir)
    long = [line for line in text.splitlines() if len(line) > 78]
    assert long, "the example has URLs longer than a line"
    assert all(" " not in line and "://" in line for line in long)


def test_no_html_tags_or_entities(build: Callable[..., BuildResult], workspace_dir: Path) -> None:
    text, _ = example_text(build, workspace_dir)
    assert not re.search(r"</?[a-zA-Z][^>]*>", text)
    assert not re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", text)


def test_every_content_link_is_written_out(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    text, html = example_text(build, workspace_dir)
    for a in parse(html).findall(".//a"):
        href = a.get("href")
        if href.startswith("https://www.gzeromedia.com/news/"):
            assert href.split("?")[0] in text


def test_headline_paragraphs_teasers_and_footer(
    build: Callable[..., BuildResult], workspace_dir: Path
) -> None:
    text, _ = example_text(build, workspace_dir)
    assert "Putin poaches the neighbors for his Ukraine invasion\n=====" in text
    assert "[Photo: Russian President Vladimir Putin. (Reuters)]" in text
    assert (
        "Read more about how Central Asia is keeping its distance from the\nKremlin\n(https://www.gzeromedia.com/news/central-asia-keeps-its-distance-from-the-kremlin)."
        in text
    )
    assert "MORE FROM GZERO MEDIA" in text
    assert text.count("https://www.gzeromedia.com/news/") == 7
    assert "Unsubscribe:\n%%unsubscribe_url%%" in text
    assert "GZERO Media, 14 East 60th Street, New York, NY 10022, USA" in text


def test_markdown_to_text_handles_lists_quotes_and_emphasis() -> None:
    text = to_text(
        "Intro *with* **emphasis** and `code`.\n\n- one\n- two [link](https://e.com/x)\n\n3. three\n4. four\n\n> quoted\n"
    )
    assert (
        text
        == "Intro with emphasis and code.\n\n- one\n\n- two link (https://e.com/x)\n\n3. three\n\n4. four\n\n> quoted"
    )


def test_wrapped_quotes_keep_their_marks_and_list_items_their_indent() -> None:
    words = " ".join(["word"] * 30)
    text = to_text(f"> {words}\n\n- {words}\n")
    quote, item = text.split("\n\n")
    assert all(line.startswith("> word") for line in quote.splitlines())
    lines = item.splitlines()
    assert lines[0].startswith("- word") and all(line.startswith("  word") for line in lines[1:])


def test_wrap_fills_greedily_like_textwrap_without_breaking_words() -> None:
    import random
    import textwrap

    from newsletter.pipeline.markdown import wrap

    words = ["a", "bb", "ccc", "word", "x-y-z", "—", "(https://e.com/a/very/long/path/of/a/link)."]
    rng = random.Random(7)
    for _ in range(500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        for indent in ("", "- ", "> ", "10. "):
            expected = textwrap.fill(
                text,
                width=30,
                initial_indent=indent,
                subsequent_indent="> " if indent == "> " else " " * len(indent),
                break_long_words=False,
                break_on_hyphens=False,
            )
            assert wrap(text, 30, indent) == expected
