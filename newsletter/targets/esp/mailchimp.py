"""Mailchimp: the template HTML with merge tags, a ZIP for template import, campaign settings.

Merge fields become Mailchimp's merge tags: ``*|FNAME|*``, ``*|EMAIL|*``, ``*|UNSUB|*``,
``*|ARCHIVE|*`` (the web version) and ``*|UPDATE_PROFILE|*``. Mailchimp merge tags have no
inline fallback, so in the body a fallback becomes a conditional merge tag,
``*|IF:FNAME|**|FNAME|**|ELSE:|*there*|END:IF|*``; in the subject and preview text, which take
only plain merge tags, the fallback is dropped and the audience field's default merge value
(Audience > Settings > Audience fields) is what Mailchimp shows to a subscriber with no name.

``template.zip`` is what "Import zip" in Mailchimp's template editor takes: ``index.html`` with
the issue's local images beside it under ``images/``, which Mailchimp uploads to its content
studio and links. ``campaign.json`` is the body of the create-campaign call.

The hidden preheader at the top of the HTML is ``*|MC_PREVIEW_TEXT|*``, which Mailchimp fills
with the campaign's preview text (``settings.preview_text``), so that an edit of the preview
text in Mailchimp changes what inboxes show. Mailchimp makes its own plain-text part from the
HTML; the issue's ``email.txt`` is not part of this export.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from newsletter.model.artifact import Artifact
from newsletter.model.issue import is_local_src, local_image
from newsletter.model.mergefields import MergeField
from newsletter.targets.esp.base import ExportContext, json_file
from newsletter.targets.esp.dialect import ZWSP, Dialect, Kind, convert, fixed_urls, require

__all__ = ["DIALECT", "TAGS", "export"]

#: Merge field -> Mailchimp merge tag name.
TAGS = {
    "first_name": "FNAME",
    "email": "EMAIL",
    "unsubscribe_url": "UNSUB",
    "web_version_url": "ARCHIVE",
    "preferences_url": "UPDATE_PROFILE",
}


def _tag(field: MergeField, kind: Kind) -> str | None:
    name = TAGS.get(field.name)
    if name is None:
        return None
    if not field.fallback or kind == "header":
        return f"*|{name}|*"
    fallback = _defuse(field.fallback, kind)
    return f"*|IF:{name}|**|{name}|**|ELSE:|*{fallback}*|END:IF|*"


def _defuse(text: str, kind: Kind) -> str:
    """``*|`` opens every Mailchimp merge tag; break it so that typed tags print as written."""
    if "*|" not in text:
        return text
    return text.replace("*|", "&#42;|" if kind == "html" else "*" + ZWSP + "|")


DIALECT = Dialect("mailchimp", _tag, _defuse)

# The hidden preheader: the theme marks it with the class nl-preheader (its contract with the
# exporters), and MJML's own <mj-preview> div comes first in <body> in a theme that uses that.
_PREVIEW = re.compile(
    r"(<div class=\"nl-preheader\"[^>]*>|<body\b[^>]*>\s*<div style=\"display:none;[^\"]*\">)"
    r"(.*?)(</div>)",
    re.DOTALL,
)


def _preview_tag(html: str) -> str:
    """The hidden preheader replaced by ``*|MC_PREVIEW_TEXT|*`` (the HTML as is without one)."""
    return _PREVIEW.sub(lambda m: f"{m[1]}*|MC_PREVIEW_TEXT|*{m[3]}", html, count=1)


_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def export(artifact: Artifact, context: ExportContext) -> dict[str, bytes]:
    """``template.html``, ``template.zip`` and ``campaign.json``."""
    email = artifact.email
    settings = context.settings
    nl = settings.newsletter
    fixed = fixed_urls(settings, email.slug)
    require(DIALECT, fixed, email.subject, email.preheader, email.html, email.text)
    html = _preview_tag(convert(email.html, DIALECT, "html", fixed))
    campaign = {
        "type": "regular",
        "settings": {
            "subject_line": convert(email.subject, DIALECT, "header", fixed),
            "preview_text": convert(email.preheader, DIALECT, "header", fixed),
            "title": email.slug,
            "from_name": nl.from_name,
            "reply_to": nl.reply_to or nl.from_email,
        },
    }
    return {
        "template.html": html.encode(),
        "template.zip": _zip(html, artifact, context),
        "campaign.json": json_file(campaign),
    }


def _zip(html: str, artifact: Artifact, context: ExportContext) -> bytes:
    """The import ZIP: ``index.html`` linking the local images packed beside it."""
    images: dict[str, Path] = {}  # name in the ZIP -> file in the workspace
    by_file: dict[Path, str] = {}

    def pack(match: re.Match[str]) -> str:
        path = _local_image(match[3], artifact, context)
        if path is None:
            return match[0]
        if path not in by_file:
            name = f"images/{path.name}"
            stem, suffix, n = path.stem, path.suffix, 1
            while name in images:
                n += 1
                name = f"images/{stem}-{n}{suffix}"
            images[name] = path
            by_file[path] = name
        return f"{match[1]}{match[2]}{by_file[path]}{match[2]}"

    packed = _IMG_SRC.sub(pack, html)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry("index.html", context), packed.encode())
        for name, path in images.items():
            archive.writestr(_entry(name, context), path.read_bytes())
    return buffer.getvalue()


def _entry(name: str, context: ExportContext) -> zipfile.ZipInfo:
    """A ZIP entry dated with the export, so that the same issue gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=context.now.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _local_image(src: str, artifact: Artifact, context: ExportContext) -> Path | None:
    """The workspace file an image ``src`` shows: the one the assets stage published under
    ``asset_base_url``, or a relative path it left alone; None for images elsewhere."""
    published = artifact.rewrites.image_file(src)
    if published is not None:
        return published
    if not is_local_src(src):
        return None
    try:
        return local_image(context.root, src)
    except ValueError:  # the issue's images were checked when it was loaded; not the theme's
        return None
