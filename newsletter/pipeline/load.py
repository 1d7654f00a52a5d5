"""Read an issue file (YAML, or Markdown with YAML front matter) into a validated :class:`Issue`.

Everything wrong with the file is collected and raised together as one
:class:`~newsletter.problems.ProblemsError`, each problem with the file, the line the YAML puts
it on, and the field path: malformed YAML, duplicate keys, unknown or missing fields, wrong
types, bad URLs, missing image files and unknown merge fields.

What an issue may be is bounded, because the preview reads whatever is saved: a file of at
most :data:`MAX_FILE_BYTES`, no YAML aliases (a few hundred bytes of nested ``*alias`` expand
to gigabytes), and Markdown nested at most :data:`MAX_NESTING` deep (deeper emphasis crashes
the MJML compiler, a native library, and with it the preview).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.errors import Problem, ProblemsError
from newsletter.files import link_outside, within
from newsletter.model import mergefields
from newsletter.model.base import ValidationError
from newsletter.model.issue import Issue, real_root
from newsletter.model.validation import (
    Loc,
    field_path,
    lookup_line,
    nearest,
    problems_from,
    strings,
)
from newsletter.pipeline import markdown, parsed, pitfalls

if TYPE_CHECKING:  # the module itself is imported when a file is parsed, not before
    import yaml

__all__ = ["MAX_FILE_BYTES", "MAX_NESTING", "load_issue", "parse_issue"]

#: The largest issue file: a real one is a few KB, and Gmail clips the email at 102 KB anyway.
MAX_FILE_BYTES = 256 * 1024
#: How deeply the body's Markdown may nest (emphasis in emphasis, quotes in lists ...).
MAX_NESTING = markdown.MAX_NESTING


@cache
def _loader() -> Any:
    """A safe YAML loader (PyYAML's C one where it has it) that leaves dates as text, so the
    model reports a bad one in place. Made on first use: importing PyYAML costs a cold start
    more than all the models, and an unchanged file is read by :func:`_read_yaml` without it."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """PyYAML's safe loader without its timestamp resolver."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def load_issue(path: Path, root: Path | None = None, *, display: str | None = None) -> Issue:
    """Load and validate the issue at ``path``; local images are looked up under ``root``.

    ``display`` is how problems name the file (default: the path as given).
    """
    name = display or str(path)
    if root is not None:
        _refuse_link_out(path, root, name)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)  # never more, whatever the file holds
    except OSError as error:
        message = f"cannot read the issue file: {error.strerror}"
        raise ProblemsError([Problem(name, "", message)]) from None
    if len(data) > MAX_FILE_BYTES:
        message = (
            f"the file is larger than {MAX_FILE_BYTES // 1024} KB, the most an issue may be "
            "(a real issue is a few KB): is it the right file?"
        )
        raise ProblemsError([Problem(name, "", message)])
    text = _decode(data, name)
    return parse_issue(text, slug=path.stem, suffix=path.suffix, file=name, root=root, source=path)


def _refuse_link_out(path: Path, root: Path, name: str) -> None:
    """An issue file in the workspace that is a link out of it (a workspace cloned from
    someone else's, say) is not read: what it leads to could be any file of the machine's.
    A file outside the workspace named on the command line is the editor's own choice."""
    given, top = os.path.abspath(path), os.path.abspath(root)
    if within(given, top):
        outside = link_outside(given, real_root(root))
        if outside is not None:
            message = (
                f"a link to {outside}, outside the workspace: copy the file into issues/ "
                "(or give that file's own path on the command line)"
            )
            raise ProblemsError([Problem(name, "", message)])


def _decode(data: bytes, file: str) -> str:
    """The file as text, or a problem per line that is not UTF-8, naming the character.

    Word and old Windows editors save Windows-1252, where curly quotes and dashes are single
    bytes (0x93 is “) that are not UTF-8; naming the character tells the editor which one.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    problems = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            byte = line[error.start : error.start + 1]
            column = len(line[: error.start].decode("utf-8", "replace")) + 1
            try:
                what = f"the character {byte.decode('cp1252')} is saved as Windows-1252"
                what += f" (byte 0x{byte.hex()}, as Word writes it), not as UTF-8"
            except UnicodeDecodeError:
                what = f"byte 0x{byte.hex()} is not UTF-8 text"
            message = (
                f"column {column}: {what}: save the file as UTF-8 "
                "(in most editors: Save As, Encoding: UTF-8)"
            )
            problems.append(Problem(file, "", message, number))
            if len(problems) == 20:
                break
    raise ProblemsError(problems)


def parse_issue(
    text: str,
    *,
    slug: str,
    suffix: str = ".yaml",
    file: str = "<issue>",
    root: Path | None = None,
    source: Path | None = None,
) -> Issue:
    """Validate the text of an issue file; ``suffix`` ``.md`` means front matter plus body."""
    problems: list[Problem] = []
    body: str | None = None
    offset = 0  # lines before the YAML starts in the file
    if suffix == ".md":
        front, body, body_line = _split_front_matter(text, file, problems)
        text, offset = front, 1
    empties: dict[Loc, str | None] = {}
    data, lines = _read_yaml(text, file, offset, problems, empties, cached=source is not None)
    if problems:
        raise ProblemsError(problems)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else "a single value"
        raise ProblemsError(
            [Problem(file, "", f"expected a mapping of fields (subject: ...), got {got}", line=1)]
        )
    if body is not None:
        lead = data.get("lead")
        if isinstance(lead, dict):
            if "body" in lead:
                line = lines.get(("lead", "body"))
                problems.append(
                    Problem(
                        file,
                        "lead.body",
                        "in a .md issue the body is the Markdown after the front matter",
                        line,
                    )
                )
            else:
                data["lead"] = {**lead, "body": body}
                lines[("lead", "body")] = body_line
    data.setdefault("slug", slug)
    problems.extend(_merge_field_problems(data, lines, file))
    problems.extend(_nesting_problems(data, lines, file, from_body=body is not None))
    problems.extend(_body_image_problems(data, lines, file, from_body=body is not None))
    try:
        issue = Issue.validate(data, {"root": root})
    except ValidationError as error:
        found = problems_from(
            error, file=file, model=Issue, line_of=lambda loc: lookup_line(lines, loc)
        )
        problems.extend(_reworded(found, text.splitlines(), empties, offset))
        issue = None
    if problems or issue is None:
        raise ProblemsError(sorted(problems, key=lambda p: p.line or 0))
    issue._source = source
    issue._lines = lines
    issue._warnings = tuple(_warnings(issue, empties, lines, file, slug))
    return issue


def _stripped(text: str, chars: str | None = None) -> tuple[str, int]:
    """``text`` stripped of ``chars`` (whitespace by default) and the lines stripped from its
    start: what a problem's line in the stripped text must count back."""
    start = text.lstrip(chars)
    return start.rstrip(chars), text[: len(text) - len(start)].count("\n")


def _split_front_matter(text: str, file: str, problems: list[Problem]) -> tuple[str, str, int]:
    """``(front matter, body, line of the body)`` of a Markdown issue."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        problems.append(
            Problem(file, "", "a .md issue starts with a line of --- and YAML front matter", 1)
        )
        return "", text, 1
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            body, blank = _stripped("".join(lines[i + 1 :]), "\n")
            return "".join(lines[1:i]), body, i + 2 + blank
    problems.append(Problem(file, "", "the front matter is not closed by a line of ---", 1))
    return "", "", 1


def _read_yaml(
    text: str,
    file: str,
    offset: int,
    problems: list[Problem],
    empties: dict[Loc, str | None],
    *,
    cached: bool,
) -> tuple[Any, dict[Loc, int]]:
    """:func:`_parse_yaml` of ``text``, or, for a file (``cached``), what it gave for the same
    text before (see :mod:`newsletter.pipeline.parsed`): an unchanged issue (the usual case: a
    build, a check, a send of what was validated) is then read without importing PyYAML."""
    kind = (
        f"issue yaml {offset} {parsed.made_by(__file__, pitfalls.__file__, libraries=('yaml',))}"
        if cached
        else ""
    )
    hit = parsed.get(kind, text) if cached else None
    if isinstance(hit, dict):
        empties.update((tuple(loc), comment) for loc, comment in hit["empties"])
        return hit["data"], {tuple(loc): line for loc, line in hit["lines"]}
    before = len(problems)
    data, lines = _parse_yaml(text, file, offset, problems, empties)
    if cached and len(problems) == before:
        entry = {
            "data": data,
            "lines": [[list(loc), line] for loc, line in lines.items()],
            "empties": [[list(loc), comment] for loc, comment in empties.items()],
        }
        parsed.put(kind, text, entry)
    return data, lines


def _parse_yaml(
    text: str, file: str, offset: int, problems: list[Problem], empties: dict[Loc, str | None]
) -> tuple[Any, dict[Loc, int]]:
    """The data in ``text`` and the line of every field, with duplicate keys reported.

    ``empties`` gets each field written with no value, and the text a ``#`` turned into a
    comment when that is why (``kicker: #MiddleEast``).
    """
    import yaml

    loader = _loader()(text)
    try:
        if "*" in text:  # no alias without a star; the scan is linear, composing is not
            alias = _alias_problem(text, file, offset)
            if alias is not None:
                problems.append(alias)
                return None, {}
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[Loc, int] = {}
        found: list[tuple[Loc, int]] = []
        data = _Builder(loader, lines, found, offset, file, problems).value(node, ())
        source = text.splitlines()
        for loc, index in found:
            empties[loc] = (
                pitfalls.emptied_by_comment(source[index]) if index < len(source) else None
            )
        return data, lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 + offset if mark else None
        what = error.problem or error.context or "malformed"
        explained = pitfalls.explain_yaml_error(
            text.splitlines(),
            error.problem_mark.line if error.problem_mark else None,
            error.context_mark.line if error.context_mark else None,
            what,
        )
        if explained is not None:
            line = explained.line + offset
            problems.append(Problem(file, explained.field, explained.message, line))
            return None, {}
        if error.context and error.context_mark and error.problem:
            started = error.context_mark.line + 1 + offset
            what += f", {error.context} that starts on line {started}"
        problems.append(Problem(file, "", f"invalid YAML: {what}", line))
        return None, {}
    except (yaml.YAMLError, ValueError) as error:
        problems.append(Problem(file, "", f"invalid YAML: {error}"))
        return None, {}
    finally:
        loader.dispose()


def _alias_problem(text: str, file: str, offset: int) -> Problem | None:
    """One problem naming the first YAML alias (``*name``) and how many there are.

    An alias repeats text from elsewhere and can nest into gigabytes (a "billion laughs" of a
    few hundred bytes); the events come before any node is composed, so finding one costs a
    linear scan.
    """
    import yaml

    first: yaml.AliasEvent | None = None
    count = 0
    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, yaml.AliasEvent):
            first = first or event
            count += 1
    if first is None:
        return None
    more = f" (and {count - 1} more)" if count > 1 else ""
    message = (
        f"a YAML alias (*{first.anchor}){more} repeats text from elsewhere, which issue files "
        "do not allow: write the text out in full (or put it in quotes if the * is part of it)"
    )
    mark = first.start_mark
    return Problem(file, "", message, mark.line + 1 + offset if mark else None)


_MAP, _SEQ, _STR, _MERGE, _TIMESTAMP = (
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "merge", "timestamp")
)


class _Builder:
    """The data of a composed document in one pass that also records the line of every field,
    each duplicate key (a problem) and each field left empty (``kicker:``, with its 0-based
    line): what three walks and PyYAML's generic constructor did at three times the cost.

    Plain mappings, lists and text are built here; every other node (a number, ``true``, a
    tag, a merge key) goes to the loader's own constructor, so the values are PyYAML's.
    """

    def __init__(
        self,
        loader: Any,
        lines: dict[Loc, int],
        empties: list[tuple[Loc, int]],
        offset: int,
        file: str,
        problems: list[Problem],
    ) -> None:
        import yaml

        self.loader, self.lines, self.empties = loader, lines, empties
        self.offset, self.file, self.problems = offset, file, problems
        self.scalar, self.sequence = yaml.ScalarNode, yaml.SequenceNode
        self.mapping_node = yaml.MappingNode

    def value(self, node: yaml.Node, loc: Loc) -> Any:
        scalar = self.scalar
        if isinstance(node, scalar) and node.tag == _STR:
            return node.value
        if isinstance(node, self.mapping_node) and node.tag == _MAP:
            keys = [key for key, _ in node.value]
            if all(isinstance(key, scalar) and key.tag != _MERGE for key in keys):
                return self.mapping(node, loc)
        if isinstance(node, self.sequence) and node.tag == _SEQ:
            out = []
            for index, item in enumerate(node.value):
                self.lines[(*loc, index)] = item.start_mark.line + 1 + self.offset
                out.append(self.value(item, (*loc, index)))
            return out
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        out = {}
        for key_node, value_node in node.value:
            here = (*loc, str(key_node.value))
            line = key_node.start_mark.line + 1 + self.offset
            if here in self.lines:
                first = self.lines[here]
                message = f"duplicate field (first on line {first})"
                self.problems.append(Problem(self.file, field_path(here), message, line))
                continue
            self.lines[here] = line
            if (
                isinstance(value_node, self.scalar)
                and value_node.value == ""
                and not value_node.style
            ):
                self.empties.append((here, key_node.start_mark.line))
            out[self.value(key_node, ())] = self.value(value_node, here)
        return out


def _reworded(
    problems: list[Problem], source: list[str], empties: dict[Loc, str | None], offset: int
) -> Iterator[Problem]:
    """The model's problems, with the YAML pitfall behind them where one is recognised: a
    value lost to a ``#`` comment, or a line of a ``body: |`` that is not indented under it
    (which YAML reads as a field named after the sentence)."""
    comments = {field_path(loc): text for loc, text in empties.items() if text}
    for problem in problems:
        name = problem.field.rsplit(".", 1)[-1]
        index = (problem.line or 0) - 1 - offset
        if problem.field in comments:
            text = comments[problem.field]
            message = f"{problem.message}: # starts a comment in YAML, so {_quote_hint(name, text)}"
            yield Problem(problem.file, problem.field, message, problem.line)
            continue
        if problem.message.startswith("unknown field") and not re.fullmatch(r"[a-z_]+", name):
            block = pitfalls.block_above(source, index) if 0 <= index < len(source) else None
            if block is not None:
                field, indent = block
                message = (
                    f"this line is not indented under {field}: indent it by {indent} spaces, "
                    "as the lines above it are"
                )
                yield Problem(problem.file, field, message, problem.line)
                continue
        yield problem


def _quote_hint(name: str, text: str) -> str:
    return f'put the text in quotes: {name}: "{text}"'


def _warnings(
    issue: Issue, empties: dict[Loc, str | None], lines: dict[Loc, int], file: str, stem: str
) -> Iterator[Problem]:
    """What is allowed but probably not meant: an empty field, a date unlike the file name's."""
    for loc, text in empties.items():
        line = lookup_line(lines, loc)
        name = str(loc[-1])
        if text:
            why = f"is empty because # starts a comment in YAML: {_quote_hint(name, text)}"
        else:
            why = "is empty: write its text after the colon, or remove the line"
        yield Problem(file, field_path(loc), why, line)
    named = re.match(r"(\d{4})-(\d{2})-(\d{2})", stem)
    if named:
        try:
            in_name = dt.date(*map(int, named.groups()))
        except ValueError:
            in_name = None
        if in_name is not None and in_name != issue.date:
            message = (
                f"the date is {issue.date.isoformat()} but the file name says "
                f"{in_name.isoformat()}: change one so they agree"
            )
            yield Problem(file, "date", message, lookup_line(lines, ("date",)))
    days = (issue.date - dt.date.today()).days
    if days > 366 or days < -3 * 365:
        when = "in the future" if days > 0 else "ago"
        years = abs(days) / 365
        message = f"the date {issue.date.isoformat()} is {years:.1f} years {when}: is it a typo?"
        yield Problem(
            file,
            "date",
            message.replace("years in the future", "years ahead"),
            lookup_line(lines, ("date",)),
        )


_BODY_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]*)")


def _body_image_problems(
    data: dict[str, Any], lines: dict[Loc, int], file: str, *, from_body: bool
) -> Iterator[Problem]:
    """A problem per Markdown image in the body: the email shows one image per story, the
    lead's (``lead.image``), whose alt text, size and file are all checked."""
    lead = data.get("lead")
    body = lead.get("body") if isinstance(lead, dict) else None
    if not isinstance(body, str):
        return
    first = lookup_line(lines, ("lead", "body")) or 0
    for number, text in enumerate(body.splitlines()):
        for match in _BODY_IMAGE.finditer(text):
            message = (
                f"images in the body are not shown (![{match[1]}]({match[2]})): put the "
                "story's image in lead.image (src, alt), and keep the body to text and links"
            )
            yield Problem(file, "lead.body", message, first + number + (0 if from_body else 1))


def _nesting_problems(
    data: dict[str, Any], lines: dict[Loc, int], file: str, *, from_body: bool
) -> Iterator[Problem]:
    """A problem if the body's Markdown nests deeper than :data:`MAX_NESTING`."""
    lead = data.get("lead")
    body = lead.get("body") if isinstance(lead, dict) else None
    if not isinstance(body, str):
        return
    # Read as the model keeps it (stripped), which is what the render reads: one reading
    # of one text, kept once (:func:`markdown.deepest`), with the lines stripped counted back.
    stripped, blank = _stripped(body)
    depth, offset = markdown.deepest(stripped)
    offset += blank
    if depth > MAX_NESTING:
        first = lookup_line(lines, ("lead", "body")) or 0
        line = first + offset + (0 if from_body else 1)  # a YAML body starts under its key
        message = (
            f"the Markdown nests {depth} levels deep (emphasis inside emphasis, like a long run "
            f"of * or _); at most {MAX_NESTING} are allowed: remove the extra * or _"
        )
        yield Problem(file, "lead.body", message, line)


#: What editors type from other ESPs' habits, and the field they mean.
_MERGE_ALIASES = {
    "fname": "first_name",
    "firstname": "first_name",
    "first": "first_name",
    "name": "first_name",
    "email_address": "email",
    "emailaddress": "email",
    "mail": "email",
    "unsub": "unsubscribe_url",
    "unsubscribe": "unsubscribe_url",
    "web_version": "web_version_url",
    "archive": "web_version_url",
    "preferences": "preferences_url",
}


def _merge_field_problems(data: Any, lines: dict[Loc, int], file: str) -> Iterator[Problem]:
    """A problem for each ``%%name%%`` token whose name is not a known merge field, with the
    field it most likely means (``%%FNAME%%`` is Mailchimp's ``%%first_name%%``)."""
    known = ", ".join(mergefields.FIELDS)
    for loc, text in strings(data):
        for name in mergefields.unknown(text):
            plain = name.lower().strip()
            close = _MERGE_ALIASES.get(plain) or nearest(plain, mergefields.FIELDS)
            hint = f": did you mean '%%{close}%%'?" if close else ""
            message = f"unknown merge field '%%{name}%%'{hint} (known: {known})"
            yield Problem(file, field_path(loc), message, lookup_line(lines, loc))
