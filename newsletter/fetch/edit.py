"""Edit an issue file the way an editor would: add to it, and leave everything else alone.

The file is read with ruamel.yaml's round-trip loader, which keeps comments, key order,
quoting and the indentation of sequences, and written back from the same document, so the
only lines that change are the ones added. A Markdown issue's front matter is edited the same
way and its body is carried over byte for byte. The new text replaces the file atomically (a
temporary file in the same folder, then ``os.replace``), and only if the file still holds what
was read: an editor who saved it meanwhile loses nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from newsletter.errors import NewsletterError
from newsletter.files import write_whole

__all__ = ["IssueDocument", "mark", "replace_file", "yaml_text"]


def _yaml(mapping: int, sequence: int, offset: int) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold an editor's long line
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


#: Indentations tried in turn (mapping, sequence, dash offset): the first that writes the file
#: back exactly as it was is the editor's, so new lines are indented like theirs.
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (4, 6, 4), (2, 4, 0), (3, 3, 0))


def _load(front: str) -> tuple[Any, YAML]:
    """The round-trip document of ``front``, and a YAML that writes it back unchanged if any
    of the usual indentations can."""
    _, guessed, offset = load_yaml_guess_indent(front)
    guess = (2, max(guessed or 2, (offset or 0) + 2), offset or 0)
    for indents in (guess, *_INDENTS):
        yaml = _yaml(*indents)
        data = yaml.load(front)
        out = io.StringIO()
        yaml.dump(data, out)
        if out.getvalue() == front:
            return data, yaml
    yaml = _yaml(*guess)
    return yaml.load(front), yaml


@dataclass
class IssueDocument:
    """An issue file's YAML as an editable round-trip document, and what surrounds it."""

    path: Path
    original: str
    data: CommentedMap
    head: str  # "---\n" of a Markdown issue, else ""
    tail: str  # the closing "---" line and the Markdown body, else ""
    yaml: YAML

    @classmethod
    def read(cls, path: Path, display: str) -> IssueDocument:
        """Read ``path``; a NewsletterError naming ``display`` if it is not an editable issue."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise NewsletterError(f"{display}: cannot read the issue file: {reason}") from None
        head, front, tail = "", text, ""
        if path.suffix == ".md":
            lines = text.splitlines(keepends=True)
            end = next(
                (i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "...")), None
            )
            if not lines or lines[0].strip() != "---" or end is None:
                raise NewsletterError(
                    f"{display}: a .md issue starts with YAML front matter between two --- lines"
                )
            head, front, tail = lines[0], "".join(lines[1:end]), "".join(lines[end:])
        try:
            data, yaml = _load(front)
        except YAMLError as error:
            raise NewsletterError(
                f"{display}: invalid YAML ({str(error).splitlines()[0]}); "
                "run 'newsletter validate' and fix it first"
            ) from None
        if not isinstance(data, CommentedMap):
            raise NewsletterError(f"{display}: expected a mapping of fields (subject: ...)")
        return cls(path, text, data, head, tail, yaml)

    def teasers(self) -> CommentedSeq:
        """The ``teasers`` list, made a block list (``teasers: []`` becomes one) to append to."""
        current = self.data.get("teasers")
        if isinstance(current, CommentedSeq) and (current or not current.fa.flow_style()):
            return current
        fresh = CommentedSeq()
        if isinstance(current, list):
            fresh.extend(current)
        self.data["teasers"] = fresh
        return fresh

    def append_teaser(self, teaser: CommentedMap) -> None:
        """Add ``teaser`` at the end of the list, after a blank line if the editor's teasers
        are separated by blank lines (the blank belongs to the new item, so popping it off
        again leaves the file as it was)."""
        teasers = self.teasers()
        if self.blank_separated:
            teaser.ca.comment = [None, [CommentToken("\n", CommentMark(0), None)]]
        teasers.append(teaser)

    @cached_property
    def blank_separated(self) -> bool:
        """Whether the file's teasers (two at least) each end with a blank line before the next."""
        items = list(self.teasers())
        return len(items) > 1 and all(_ends_with_blank(item) for item in items[:-1])

    def lead(self) -> CommentedMap:
        """The ``lead`` mapping (made if missing) to fill in."""
        current = self.data.get("lead")
        if not isinstance(current, CommentedMap):
            current = CommentedMap()
            self.data["lead"] = current
        return current

    def text(self) -> str:
        """The whole file as it would be written now."""
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return self.head + out.getvalue() + self.tail


def _ends_with_blank(item: object) -> bool:
    """Whether a block mapping's last line is followed by an empty line."""
    while isinstance(item, CommentedMap) and item:
        last = list(item)[-1]
        if isinstance(item[last], CommentedMap):
            item = item[last]
            continue
        slots = item.ca.items.get(last)
        token = slots[2] if slots and len(slots) > 2 else None
        return token is not None and str(token.value).endswith("\n\n")
    return False


def mark(mapping: CommentedMap, keys: list[str], note: str) -> None:
    """Put ``# note`` after each of ``keys`` in ``mapping`` (on the line above a block text).

    A comment the editor already has there is kept, after the note, and so are the comment
    lines that follow it (ruamel keeps them in the same token).
    """
    for key in keys:
        value = mapping.get(key)
        if key not in mapping or isinstance(value, dict):
            continue
        if isinstance(value, str) and "\n" in value:
            mapping.yaml_set_comment_before_after_key(key, before=note, indent=_indent(mapping))
            continue
        slots = mapping.ca.items.get(key)
        token = slots[2] if slots and len(slots) > 2 else None
        if token is None:
            mapping.yaml_add_eol_comment(note, key)
        elif token.value.lstrip(" ").startswith("#"):
            token.value = f"# {note}; " + token.value.lstrip(" ")[1:].lstrip(" ")
        else:
            token.value = f"# {note}" + token.value


def _indent(mapping: CommentedMap) -> int:
    """The column a mapping's keys start at, for a comment line among them."""
    line_col = getattr(mapping, "lc", None)
    return int(line_col.col) if line_col is not None and line_col.col is not None else 2


def yaml_text(value: Any) -> str:
    """``value`` (plain or round-trip data) as block YAML, comments included."""
    out = io.StringIO()
    _yaml(2, 4, 2).dump(value, out)
    return out.getvalue().lstrip("\n")


def replace_file(path: Path, text: str, expected: str, display: str) -> None:
    """Write ``text`` to ``path`` atomically, if ``path`` still holds ``expected``; a file
    with Windows line ends keeps them."""
    try:
        raw = path.read_bytes()
        if raw.decode("utf-8", errors="replace").replace("\r\n", "\n") != expected:
            raise NewsletterError(
                f"{display}: changed while the pages were read; nothing written, run the "
                "command again"
            )
        if b"\r\n" in raw:
            text = text.replace("\n", "\r\n")
        write_whole(path, text.encode(), mode=path.stat().st_mode & 0o777, durable=True)
    except OSError as error:
        raise NewsletterError(f"{display}: cannot write the issue file: {error.strerror}") from None
