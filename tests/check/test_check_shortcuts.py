"""The checks' shortcuts read what the slow way reads, on random input: each skips work
(a URL's path and query, a second scan of the HTML, a pattern) only where the answer is
known without it, and these tests hold each to the reading it stands for."""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from newsletter.model.placeholders import reserved_host
from newsletter.pipeline.checks import leftovers, links
from newsletter.pipeline.checks.context import origin

_URL_PARTS = ["http://", "https://", "HTTPS://", "mailto:", "localhost", "127.0.0.1", "[::1]"]
_URL_PARTS += ["www.example.com", "x.test", ":8000", "@", "/", "?", "#", "&", "=", "a", "%5F"]
_URL_PARTS += ["utm_source=", "utm_medium=x", "+", "\t", "\n", "[", "file:"]


def _outcome(read: Callable[[str], object], value: str) -> object:
    """What ``read`` gives for ``value``, or the kind of error it raises."""
    try:
        return read(value)
    except ValueError as error:
        return type(error)


def test_a_link_is_read_by_its_host_as_urlsplit_reads_the_whole_link() -> None:
    rng = random.Random(7)
    keys = ("utm_source", "utm_medium")
    for _ in range(20000):
        url = "".join(rng.choice(_URL_PARTS) for _ in range(rng.randint(1, 9)))
        assert _outcome(links._local, url) == _outcome(links._local_url.__wrapped__, url), url
        assert _outcome(reserved_host, origin(url)) == _outcome(reserved_host, url), url
        query = _outcome(lambda u: urlsplit(u).query, url)
        if isinstance(query, str):  # else link-local, which runs first, has raised already
            have = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
            assert links._missing(url, keys) == [key for key in keys if key not in have], url


def test_template_syntax_is_looked_for_wherever_it_could_be() -> None:
    """Where the shortcut says an email cannot hold template syntax, unescaping it and
    searching finds none; where it looks for a start, it finds one exactly where ``in``
    does."""
    rng = random.Random(8)
    pieces = [*"{%#}<mj-/*|a ;&", "&lt;", "&#123;", "&#x7B;", "&amp;", "&percnt;"]
    pieces += ["&ast;", "&verbar;", "&lcub;", "&sol;", "&nbsp;", "&#39;", "&ampmj-"]
    for _ in range(50000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        starts = any(start in text for start in leftovers._STARTS)
        assert leftovers._holds_start(text) == starts, text
        if re.search(leftovers._TEMPLATE, html.unescape(text)):
            assert leftovers._may_hold_syntax(text, escaped=True), text
        if re.search(leftovers._TEMPLATE, text):
            assert leftovers._may_hold_syntax(text, escaped=False), text


def test_a_stray_merge_field_mark_is_one_no_token_holds() -> None:
    """The ``%%`` that no well-formed token holds, found by where a token's two stand, are
    those a search of every token's span finds."""
    from newsletter.model import mergefields

    rng = random.Random(9)
    pieces = ["%", "%%", "a", "_", "|", " ", "\n", "x1", "first_name", "%%first_name%%"]
    pieces += ["%%a|b%%", "%%a|%%", "|100"]
    for _ in range(50000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        tokens = list(mergefields.find(text))
        spans = [range(t.start, t.end) for t in tokens]
        marks = [m.start() for m in re.finditer("%%", text)]
        expected = [p for p in marks if not any(p in span for span in spans)]
        assert leftovers._stray(text, tokens) == expected, text
