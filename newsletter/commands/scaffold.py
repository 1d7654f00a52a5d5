"""New workspaces and new issue files, written so that they build as they are.

``newsletter init`` and ``newsletter new`` both write the issue skeleton from here, and neither
ever overwrites a file: an editor's work is never lost to a scaffold.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.model.workspace import CONFIG_NAME

__all__ = ["create_issue", "create_workspace", "issue_skeleton", "settings_skeleton"]


def settings_skeleton(name: str) -> str:
    """A commented ``newsletter.toml`` for a newsletter called ``name``."""
    return f'''# Settings of this newsletter workspace. Every key is described in the README.
[newsletter]
name = "{name}"
brand = "{name}"                        # as in "More from {{brand}}"
template = "gzero"                      # a folder under templates/, or a built-in theme
from_name = "{name}"
from_email = "newsletter@example.com"
postal_address = "123 Example Street, Springfield, USA"   # required in the footer by law
site_url = "https://example.com"
lang = "en"
web_version_url = "https://example.com/newsletter/{{slug}}"
# asset_base_url = "https://example.com/newsletter/"  # assets/x.jpg is linked as <this>assets/x.jpg

[newsletter.utm]                        # added to every content link; remove to turn off
utm_source = "newsletter"
utm_medium = "email"
utm_campaign = "{{slug}}"

[send]
unsubscribe_url = "https://example.com/unsubscribe?token={{token}}"
unsubscribe_mailto = "unsubscribe@example.com"

[send.sample]                           # merge fields for builds, previews and test sends
first_name = "Alex"
email = "alex@example.com"
'''


def issue_skeleton(headline: str, day: dt.date, brand: str) -> str:
    """An issue file with every field shown, valid as it stands."""
    return f"""# An issue of the newsletter. Fields: see "The issue file" in the README.
subject: {headline}
preheader: One sentence that inboxes show after the subject.
date: {day.isoformat()}
lead:
  kicker: News                       # optional small label above the headline
  headline: {headline}
  byline: By the {brand} staff       # optional
  url: https://example.com/stories/first-story    # optional: headline and button link
  # image:                           # optional; src is assets/<file> or an https URL
  #   src: assets/lead.jpg
  #   alt: What the photo shows.
  #   caption: A line under the photo.
  #   credit: Photographer / Agency
  body: |
    Write the story here, in Markdown. Hello, %%first_name|there%%!

    A second paragraph, with [a link that says where it goes](https://example.com/more).
teasers:                             # the "More from {brand}" row; may be empty: []
  - headline: A second story worth a click
    url: https://example.com/stories/second-story
    summary: Two sentences that make a reader want the rest.
"""


def create_workspace(folder: Path, name: str, *, today: dt.date) -> list[Path]:
    """Make a workspace in ``folder`` (new or empty); return the files written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise NewsletterError(
            f"{folder}: not an empty folder; choose a new one so nothing is overwritten"
        )
    for sub in ("issues", "assets", "templates"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    config = folder / CONFIG_NAME
    config.write_text(settings_skeleton(name), encoding="utf-8")
    issue = create_issue(
        folder / "issues", "first-issue", today, brand=name, headline=f"The first issue of {name}"
    )
    return [config, issue]


def create_issue(
    issues_dir: Path, slug: str, day: dt.date, *, brand: str, headline: str | None = None
) -> Path:
    """Write ``issues/<date>-<slug>.yaml``; refuse if it exists."""
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise NewsletterError(
            f"slug {slug!r}: use lowercase words joined by '-', like putin-poaches-the-neighbors"
        )
    issues_dir.mkdir(parents=True, exist_ok=True)
    path = issues_dir / f"{day.isoformat()}-{slug}.yaml"
    text = issue_skeleton(headline or slug.replace("-", " ").capitalize(), day, brand)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise NewsletterError(f"{path}: already exists; it was left as it is") from None
    return path
