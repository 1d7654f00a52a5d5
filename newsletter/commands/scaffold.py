"""New workspaces and new issue files, written so that they build as they are.

``newsletter init`` and ``newsletter new`` both write the issue skeleton from here, and neither
ever overwrites a file: an editor's work is never lost to a scaffold.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.model.schema import SCHEMA_NAME, shipped_schema
from newsletter.model.workspace import CONFIG_NAME

__all__ = [
    "BEFORE_THE_FIRST_SEND",
    "GITIGNORE",
    "create_issue",
    "create_workspace",
    "issue_skeleton",
    "settings_skeleton",
    "slugify",
    "write_schema",
]


def settings_skeleton(name: str) -> str:
    """A complete, commented ``newsletter.toml`` for a newsletter called ``name``.

    Every table a command reads is there, with values that work on this machine as they are:
    builds, checks, exports for every ESP, and test sends to a mail server on localhost:1025.
    The lines marked TODO are what :data:`BEFORE_THE_FIRST_SEND` lists.
    """
    return f'''# Settings of this newsletter workspace. Every key is described in the README ("Settings").
# Lines marked TODO hold placeholders: fill them in before the first real send.

[newsletter]
name = "{name}"
brand = "{name}"                        # as in "More from {{brand}}"
template = "gzero"                      # a folder under templates/, or a built-in theme
from_name = "{name}"
from_email = "newsletter@example.com"   # TODO: an address of a domain you send from
postal_address = "123 Example Street, Springfield, USA"   # TODO: yours; the law wants it in the footer
site_url = "https://example.com"        # TODO: your site
lang = "en"
web_version_url = "https://example.com/newsletter/{{slug}}"   # TODO: where issues are on the web
preferences_url = "https://example.com/newsletter/preferences"
# The URL this workspace's files are published under, for images in issues: assets/x.jpg is
# linked as <asset_base_url>assets/x.jpg. Without it, an issue with a local image builds and
# previews, but export and send refuse it (no inbox can load a relative path).
# asset_base_url = "https://example.com/newsletter/"   # TODO when you add images

[newsletter.utm]                        # added to every content link; remove the table to turn off
utm_source = "newsletter"
utm_medium = "email"
utm_campaign = "{{slug}}"

[transforms]
assets = true
utm = true
inline = true
inliner = "css-inline"                  # or "premailer" (slower, the same layout)

[check]                                 # thresholds of `newsletter check`; rules in [check.rules]
clip_kb = 102
subject_max = 60

[smtp]                                  # test sends (--to) and list sends (--list) go through it
host = "localhost"                      # TODO: your mail server; localhost:1025 is a local test
port = 1025                             #   server (for example: python -m aiosmtpd -n -l localhost:1025)
security = "none"                       # "starttls" or "tls" for a real server
# username = "newsletter"               # with password_env, the NAME of the variable holding it
# password_env = "NEWSLETTER_SMTP_PASSWORD"

[send]
unsubscribe_url = "https://example.com/unsubscribe?token={{token}}"   # TODO: your unsubscribe page
unsubscribe_mailto = "unsubscribe@example.com"                       # TODO
# The NAME of the environment variable holding the secret that signs {{token}}, so that
# nobody can unsubscribe someone else by guessing. A list send refuses to start until the
# variable is set; builds, previews and test sends sign with a public sample secret meanwhile.
unsubscribe_secret_env = "NEWSLETTER_UNSUBSCRIBE_SECRET"
test_prefix = "[TEST] "
rate = 10                               # messages per second, at most
connections = 2

[send.sample]                           # merge fields for builds, previews and test sends
first_name = "Alex"
email = "alex@example.com"

[export]                                # links for ESPs that have no tag of their own for them
web_version_url = "https://example.com/newsletter/{{slug}}"   # TODO: as web_version_url above
preferences_url = "https://example.com/newsletter/preferences"

# [publish]                             # where `newsletter publish` puts the web archive
# to = "public/"                        # a folder, or s3://bucket/prefix (AWS_* credentials
#                                       # from the environment)
'''


#: What ``newsletter init`` tells the editor to fill in before a real send.
BEFORE_THE_FIRST_SEND = (
    "[newsletter] from_email, postal_address, site_url and web_version_url",
    "[smtp] host (and username with password_env) of your mail server",
    "[send] unsubscribe_url and unsubscribe_mailto, and unsubscribe_secret_env",
    "[newsletter] asset_base_url, once an issue has images",
)

#: What ``init`` keeps out of version control: builds, and the send journal's folder.
GITIGNORE = "out/\n.newsletter/\n"


def issue_skeleton(headline: str, day: dt.date, brand: str) -> str:
    """An issue file with every field shown, valid as it stands."""
    return f"""# yaml-language-server: $schema=../{SCHEMA_NAME}
# An issue of the newsletter. Fields: see "The issue file" in the README; editors that read
# the schema line above (VS Code with its YAML extension ...) complete and check every field.
subject: {_yaml_text(headline)}
preheader: One sentence that inboxes show after the subject.
date: {day.isoformat()}
# draft: true                        # optional: built and previewed, kept out of the web archive
lead:
  kicker: News                       # optional small label above the headline
  headline: {_yaml_text(headline)}
  byline: By the editors of {brand}  # optional
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


def _yaml_text(text: str) -> str:
    """``text`` as a YAML value: plain when it is safe so, else double-quoted."""
    if re.fullmatch(r"[A-Za-z0-9][\w ,.!?()'’-]*", text) and ": " not in text and " #" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def slugify(text: str) -> str:
    """``My Story!`` as a slug: ``my-story`` (lowercase ASCII words joined by ``-``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower()))


def write_schema(root: Path) -> Path:
    """Put the package's issue schema at the workspace's top (``issue.schema.json``), where
    the skeleton's ``$schema=../issue.schema.json`` line finds it from ``issues/``; rewritten
    only when the package's differs."""
    path = root / SCHEMA_NAME
    text = shipped_schema()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


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
    ignore = folder / ".gitignore"
    ignore.write_text(GITIGNORE, encoding="utf-8")
    issue = create_issue(
        folder / "issues", "first-issue", today, brand=name, headline=f"The first issue of {name}"
    )
    return [config, ignore, issue]


def create_issue(
    issues_dir: Path, slug: str, day: dt.date, *, brand: str, headline: str | None = None
) -> Path:
    """Write ``issues/<date>-<slug>.yaml`` (and the schema beside it); refuse if it exists."""
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise NewsletterError(
            f"slug {slug!r}: use lowercase words joined by '-', like putin-poaches-the-neighbors"
        )
    issues_dir.mkdir(parents=True, exist_ok=True)
    write_schema(issues_dir.parent)
    path = issues_dir / f"{day.isoformat()}-{slug}.yaml"
    text = issue_skeleton(headline or slug.replace("-", " ").capitalize(), day, brand)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise NewsletterError(f"{path}: already exists; it was left as it is") from None
    return path
