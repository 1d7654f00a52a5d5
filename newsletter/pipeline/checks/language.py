"""Language: text whose script does not fit the language it is marked with.

The theme works out each block's direction from its letters, but not its language: an Arabic
teaser in an English issue sits under ``lang="en"``, and a screen reader reads it with an
English voice (letter by letter, or not at all); hyphenation and spell checkers go wrong too.
Only the editor can say which language it is (Arabic script is also Persian and Urdu), so the
check names the story that needs a ``lang:``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

from newsletter.model.validation import Loc, field_path
from newsletter.pipeline.checks.context import Context, Hit

__all__ = ["script_mismatch", "script_of"]

#: Languages and the scripts they are written in (the first word of the letters' Unicode
#: names). A language not listed is not checked.
_LATIN = [
    "af",
    "ca",
    "cs",
    "cy",
    "da",
    "de",
    "en",
    "es",
    "et",
    "eu",
    "fi",
    "fil",
    "fr",
    "ga",
    "gl",
    "hr",
    "hu",
    "id",
    "is",
    "it",
    "lt",
    "lv",
    "ms",
    "mt",
    "nb",
    "nl",
    "nn",
    "no",
    "pl",
    "pt",
    "ro",
    "sk",
    "sl",
    "sq",
    "sv",
    "sw",
    "tl",
    "tr",
    "vi",
]
SCRIPTS: dict[str, frozenset[str]] = {
    **{lang: frozenset({"LATIN"}) for lang in _LATIN},
    **{lang: frozenset({"ARABIC"}) for lang in ("ar", "fa", "ur", "ps", "sd", "ug")},
    **{lang: frozenset({"HEBREW"}) for lang in ("he", "iw", "yi")},
    **{lang: frozenset({"CYRILLIC"}) for lang in ("ru", "uk", "be", "bg", "mk", "kk", "ky", "tg")},
    **{lang: frozenset({"CYRILLIC", "LATIN"}) for lang in ("sr", "uz", "az", "mn", "bs")},
    "el": frozenset({"GREEK"}),
    "zh": frozenset({"CJK"}),
    "ja": frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
    "ko": frozenset({"HANGUL", "CJK"}),
    **{lang: frozenset({"DEVANAGARI"}) for lang in ("hi", "mr", "ne", "sa")},
    "bn": frozenset({"BENGALI"}),
    "ta": frozenset({"TAMIL"}),
    "th": frozenset({"THAI"}),
    "hy": frozenset({"ARMENIAN"}),
    "ka": frozenset({"GEORGIAN"}),
}
#: A script -> its name in a message, and the language to suggest for it.
_SUGGEST = {
    "LATIN": ("Latin", "en"),
    "ARABIC": ("Arabic", "ar"),
    "HEBREW": ("Hebrew", "he"),
    "CYRILLIC": ("Cyrillic", "ru"),
    "GREEK": ("Greek", "el"),
    "CJK": ("Chinese", "zh"),
    "HIRAGANA": ("Japanese", "ja"),
    "KATAKANA": ("Japanese", "ja"),
    "HANGUL": ("Korean", "ko"),
    "DEVANAGARI": ("Devanagari", "hi"),
    "BENGALI": ("Bengali", "bn"),
    "TAMIL": ("Tamil", "ta"),
    "THAI": ("Thai", "th"),
    "ARMENIAN": ("Armenian", "hy"),
    "GEORGIAN": ("Georgian", "ka"),
}
#: The fields read in their story's language. Credits are names (REUTERS), URLs are not text.
_TEXT_FIELDS = {"subject", "preheader", "kicker", "headline", "byline", "body", "summary"}
_IMAGE_FIELDS = {"alt", "caption"}
#: A field is judged when it has this many letters, by the script of most of them.
_MIN_LETTERS = 3
_MAJORITY = 0.6  # 3/5, which _mostly_ascii_letters counts on
_ASCII_LETTERS = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))
_ASCII = "[\x00-\x7f]+"  # compiled when first needed: most issues' text is all ASCII


def _ascii_letters(text: str) -> tuple[int, int]:
    """``(ASCII letters, other characters that are not ASCII)`` of ``text``, counted by what
    deleting them takes off its ASCII bytes."""
    ascii_bytes = text.encode("ascii", "ignore")
    letters = len(ascii_bytes) - len(ascii_bytes.translate(None, _ASCII_LETTERS))
    return letters, len(text) - len(ascii_bytes)


def _mostly_ascii_letters(text: str) -> bool:
    """Whether no script but Latin can be most of ``text``'s letters, which
    :func:`script_of` would find out letter by letter: another script needs ``_MAJORITY``
    (three fifths) of them, so at least 1.5 times as many (non-ASCII) letters as there are
    ASCII ones, and there are no more of those than non-ASCII characters. In integers, so
    that no rounding decides."""
    latin, other = _ascii_letters(text)
    return other == 0 or 3 * latin > 2 * other


def script_of(text: str) -> str | None:
    """The script most of ``text``'s letters are written in (``ARABIC``), if one clearly is.

    ASCII letters, most of any English issue, are counted at once as Latin (which they all
    are), by what deleting them takes off the ASCII bytes: looking each one up in the Unicode
    database was most of a warm build's checks, and listing them by regex still a tenth.
    """
    counts: Counter[str] = Counter()
    latin, _ = _ascii_letters(text)
    if latin:
        counts["LATIN"] = latin
    for char in re.sub(_ASCII, "", text):
        script = _script(char)
        if script is not None:
            counts[script] += 1
    total = sum(counts.values())
    if total < _MIN_LETTERS:
        return None
    script, count = counts.most_common(1)[0]
    return script if count >= _MAJORITY * total else None


@lru_cache(maxsize=4096)
def _script(char: str) -> str | None:
    """The script of a letter (the first word of its Unicode name), ``None`` for a non-letter."""
    if unicodedata.category(char).startswith("L"):
        return unicodedata.name(char, "UNKNOWN").split(" ")[0]
    return None


def _story(loc: Loc) -> Loc:
    """The part of the issue a field's ``lang:`` is set on: ``()`` (the issue), ``("lead",)``
    or ``("teasers", n)``."""
    if loc[:1] == ("lead",):
        return ("lead",)
    if loc[:1] == ("teasers",) and len(loc) > 1:
        return loc[:2]
    return ()


def _is_text(loc: Loc) -> bool:
    name = loc[-1] if loc else ""
    return name in _TEXT_FIELDS or (len(loc) > 1 and loc[-2] == "image" and name in _IMAGE_FIELDS)


def script_mismatch(ctx: Context) -> Iterator[Hit]:
    """Text written in a script its language does not use (Arabic under ``lang="en"``):
    screen readers read it with the wrong voice. Names the story that needs a ``lang:``."""
    issue_lang = ctx.issue.lang or ctx.workspace.settings.newsletter.lang
    found: dict[Loc, list[tuple[Loc, str]]] = {}
    for loc, text in ctx.issue_strings:
        if not _is_text(loc):
            continue
        story = _story(loc)
        lang = _lang_of(ctx, story, issue_lang)
        expected = SCRIPTS.get(lang.split("-")[0].lower())
        if expected is None or ("LATIN" in expected and _mostly_ascii_letters(text)):
            continue  # a language not checked, or text no other script can be most of
        script = script_of(text)
        if script is None or script in expected or script not in _SUGGEST:
            continue
        found.setdefault(story, []).append((loc, script))
    for story, fields in found.items():
        loc, script = fields[0]
        name, suggestion = _SUGGEST[script]
        where = f"to {field_path(story)}" if story else "to the issue"
        names = ", ".join(field_path(field) for field, _ in fields)
        lang = _lang_of(ctx, story, issue_lang)
        yield Hit(
            f"{names} {'is' if len(fields) == 1 else 'are'} in {name} script but marked as "
            f'lang="{lang}", so screen readers read it with the wrong voice: add '
            f'"lang: {suggestion}" (or its real language) {where}',
            ctx.at_field(*loc),
        )


def _lang_of(ctx: Context, story: Loc, issue_lang: str) -> str:
    """The language a story's fields are read in: its own ``lang:``, else the issue's."""
    if story == ("lead",):
        return ctx.issue.lead.lang or issue_lang
    if story:
        return ctx.issue.teasers[int(story[1])].lang or issue_lang
    return issue_lang
