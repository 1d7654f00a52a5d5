"""The settings in ``newsletter.toml``, each declared once with its type, default and meaning.

Every table is a :class:`~newsletter.model.base.Model` that forbids unknown keys, so a
misspelt setting is an error that names the file and the key rather than a silent default. An
empty table or list defaults to ``{}`` or ``[]`` (copied for each object).

The annotations are evaluated as the classes are made (no ``from __future__ import
annotations``): the model compiles its checks from them once, at import.
"""

import re
import string
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from newsletter.model.base import After, Field, Model
from newsletter.model.clients import CLIENTS, DEFAULT_CLIENTS

__all__ = [
    "CheckSettings",
    "EspSettings",
    "ExportSettings",
    "FetchSettings",
    "NewsletterSettings",
    "PublishSettings",
    "SendSettings",
    "Settings",
    "SiteSettings",
    "SmtpSettings",
    "TransformSettings",
    "http_url",
]


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"expected an absolute http(s) URL like https://example.com/, got {value!r}"
        )
    return value


def _check_email(value: str) -> str:
    if not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+", value):
        raise ValueError(f"expected an email address like news@example.com, got {value!r}")
    return value


def _template(*names: str) -> After:
    """A validator for text with ``{name}`` placeholders: only ``names`` may be used, so a
    misspelt placeholder is reported with the settings rather than crashing a build."""

    def check(value: str) -> str:
        try:
            used = {
                field for _, field, _, _ in string.Formatter().parse(value) if field is not None
            }
        except ValueError as error:
            raise ValueError(
                f"{error} in {value!r} (write {{{{ and }}}} for a literal brace)"
            ) from None
        unknown = sorted(used - set(names))
        if unknown:
            allowed = ", ".join(f"{{{name}}}" for name in names)
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} in {value!r} (use {allowed})")
        return value

    return After(check)


#: An absolute http(s) URL, kept exactly as written (a URL type would normalise it).
http_url = Annotated[str, After(_check_http_url)]
email_address = Annotated[str, After(_check_email)]


class _Table(Model):
    """A table of settings: unknown keys are problems, and the values are frozen."""


class NewsletterSettings(_Table):
    """``[newsletter]``: who sends the newsletter and how it looks."""

    name: str = Field(description="The newsletter's name, shown in the header and the title.")
    brand: str = Field(description='The publisher, as in the "More from {brand}" heading.')
    template: str = Field("gzero", description="The theme: a folder under templates/.")
    from_name: str = Field(description="The sender's display name.")
    from_email: email_address = Field(description="The sender's address.")
    reply_to: email_address | None = Field(None, description="Where replies go, if not From.")
    postal_address: str = Field(description="The postal address the footer must show (CAN-SPAM).")
    site_url: http_url = Field(description="The publisher's site, linked from header and footer.")
    lang: str = Field("en", description="The language of the issues (BCP 47), for lang=.")
    web_version_url: Annotated[str, _template("slug")] | None = Field(
        None, description="Where an issue can be read on the web; {slug} is replaced."
    )
    preferences_url: Annotated[str, _template("slug", "email", "token")] | None = Field(
        None, description="Where subscribers manage their emails."
    )
    asset_base_url: http_url | None = Field(
        None,
        description="The URL the workspace is published under; assets/x.jpg links to it + assets/x.jpg.",
    )
    utm: dict[str, Annotated[str, _template("slug", "date")]] = Field(
        default={},
        description="URL parameters added to every content link ({slug} and {date} replaced).",
    )


class TransformSettings(_Table):
    """``[transforms]``: the HTML steps after MJML, each one switchable."""

    assets: bool = Field(True, description="Link local images under asset_base_url.")
    utm: bool = Field(True, description="Add [newsletter.utm] parameters to content links.")
    inline: bool = Field(True, description="Inline the theme's CSS into style attributes.")
    inliner: Literal["premailer", "css-inline"] = Field(
        "css-inline", description="The CSS inlining engine."
    )


class SendSettings(_Table):
    """``[send]``: what every message needs to be sent (and sample values for previews)."""

    unsubscribe_url: Annotated[str, _template("token", "email", "slug")] | None = Field(
        None, description="Per-subscriber unsubscribe link; {token} and {email} are replaced."
    )
    unsubscribe_mailto: email_address | None = Field(
        None, description="Address for mailto: unsubscribes in List-Unsubscribe."
    )
    unsubscribe_secret_env: str | None = Field(
        None,
        description="The environment variable holding the secret that signs {token} "
        "(HMAC-SHA256); without it {token} is a plain hash anyone can compute.",
    )
    sample: dict[str, str] = Field(
        default_factory=lambda: {"first_name": "Alex", "email": "alex@example.com"},
        description="Merge-field values for builds, previews and test sends.",
    )
    test_prefix: str = Field("[TEST] ", description="Put before the subject of test sends.")
    rate: float = Field(
        10.0, gt=0, description="Messages per second, at most, over all connections."
    )
    connections: int = Field(2, ge=1, le=50, description="Parallel SMTP connections, each reused.")
    retries: int = Field(
        4, ge=0, le=20, description="Retries of a message answered 4xx (temporary), with backoff."
    )
    retry_delay: float = Field(
        2.0, ge=0, description="Seconds before the first retry; doubled for each next one."
    )
    dkim_key_file: str | None = Field(
        None, description="PEM private key to DKIM-sign with (a path, relative to the workspace)."
    )
    dkim_selector: str | None = Field(
        None, description="The DKIM selector (<selector>._domainkey)."
    )
    dkim_domain: str | None = Field(
        None, description="The signing domain (d=); default: the domain of from_email."
    )


class SmtpSettings(_Table):
    """``[smtp]``: the server that test and list sends go through. No secret lives here."""

    host: str = Field("localhost", description="The SMTP server's host name.")
    port: int | None = Field(
        None, ge=1, le=65535, description="Its port (default: 587 starttls, 465 tls, 25 none)."
    )
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="STARTTLS after connecting, TLS from the start, or none."
    )
    username: str | None = Field(None, description="The login name, when the server wants one.")
    password_env: str | None = Field(
        None, description="The NAME of the environment variable that holds the password."
    )
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for the server's answer.")


class ExportSettings(_Table):
    """``[export]``: links for ESPs that have no tag of their own for a merge field.

    SES has no web-version link, for example; with ``web_version_url`` set here, the export puts
    this URL where ``%%web_version_url%%`` stands instead of failing. ``{slug}`` is replaced.
    """

    web_version_url: str | None = Field(
        None, description="The issue on the web, for ESPs without a web-version tag; {slug}."
    )
    preferences_url: str | None = Field(
        None, description="The preferences page, for ESPs without a preferences tag; {slug}."
    )


class PostmarkSettings(_Table):
    """``[esp.postmark]``: Postmark's API for ``send --list --via postmark``."""

    token_env: str = Field(
        "POSTMARK_SERVER_TOKEN",
        description="The environment variable that holds the server API token (never the token).",
    )
    api_url: http_url = Field("https://api.postmarkapp.com", description="Postmark's API.")
    stream: str = Field("broadcast", description="The message stream: a broadcast stream.")


class SendgridSettings(_Table):
    """``[esp.sendgrid]``: SendGrid's v3 API for ``send --list --via sendgrid``."""

    key_env: str = Field(
        "SENDGRID_API_KEY", description="The environment variable that holds the API key."
    )
    api_url: http_url = Field("https://api.sendgrid.com", description="SendGrid's API.")
    asm_group_id: int | None = Field(
        None,
        description="The unsubscribe group: without it SendGrid leaves the unsubscribe link empty.",
    )


class MailgunSettings(_Table):
    """``[esp.mailgun]``: Mailgun's API for ``send --list --via mailgun``."""

    key_env: str = Field(
        "MAILGUN_API_KEY", description="The environment variable that holds the API key."
    )
    api_url: http_url = Field(
        "https://api.mailgun.net",
        description="Mailgun's API (https://api.eu.mailgun.net in the EU).",
    )
    domain: str | None = Field(None, description="The sending domain, as Mailgun knows it.")


class SesSettings(_Table):
    """``[esp.ses]``: Amazon SES for ``send --list --via ses``; credentials, region and
    endpoint come from boto3's chain (``AWS_*`` environment variables, profiles)."""

    configuration_set: str | None = Field(
        None, description="The SES configuration set to send with (event publishing)."
    )
    unsubscribe: Literal["signed", "list-management"] = Field(
        "signed",
        description=(
            'The unsubscribe link of the ses export: "signed" ([send] unsubscribe_url, per '
            'destination; works for bulk sends) or "list-management" (SES\'s '
            "{{amazonSESUnsubscribeUrl}}, only for one-recipient SendEmail with a contact list)."
        ),
    )


class EspSettings(_Table):
    """``[esp]``: list sends through an ESP's bulk API (``send --list --via NAME``)."""

    rate: float | None = Field(
        None, gt=0, description="Recipients per second, at most; none: as fast as the ESP takes."
    )
    retries: int = Field(
        5, ge=0, description="Tries again after 429, 5xx or a lost connection, per batch."
    )
    retry_delay: float = Field(
        1.0, ge=0, description="Seconds before the first retry (then doubled, with jitter)."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the ESP's answer.")
    postmark: PostmarkSettings = PostmarkSettings()
    sendgrid: SendgridSettings = SendgridSettings()
    mailgun: MailgunSettings = MailgunSettings()
    ses: SesSettings = SesSettings()


def _check_client(name: str) -> str:
    if name not in CLIENTS:
        raise ValueError(f"unknown email client {name!r} (known: {', '.join(CLIENTS)})")
    return name


#: An email client as ``[check] clients`` names it; caniemail.com's data says what each supports.
Client = Annotated[str, After(_check_client)]


class CheckSettings(_Table):
    """``[check]``: the pre-send review (``newsletter check``), its rules and thresholds."""

    rules: dict[str, Literal["error", "warning", "info", "off"]] = Field(
        default={},
        description='Rule id -> "error", "warning", "info" or "off", overriding its default.',
    )
    clip_kb: float = Field(
        102, gt=0, description="HTML size (KB) at which Gmail clips the email: an error."
    )
    near_clip_kb: float = Field(
        90, gt=0, description="HTML size (KB) that is close to the clip: a warning."
    )
    subject_max: int = Field(60, gt=0, description="Longest subject (characters) an inbox shows.")
    preheader_max: int = Field(
        130, gt=0, description="Longest preheader (characters) an inbox shows."
    )
    image_max_kb: float = Field(
        200, gt=0, description="Heaviest local image (KB) worth sending to phones."
    )
    clients: list[Client] = Field(
        default_factory=lambda: list(DEFAULT_CLIENTS),
        description="The email clients whose HTML and CSS support is checked.",
    )


def _check_allowed_host(value: str) -> str:
    """``host`` or ``host:port`` (``[v6]:port`` for an IPv6 address), lowercased."""
    value = value.strip().lower()
    if not re.fullmatch(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?", value):
        raise ValueError(
            f"expected a host or host:port like intranet.example.com:8080, got {value!r}"
        )
    return value


class FetchSettings(_Table):
    """``[fetch]``: how ``newsletter teasers add`` and ``newsletter new --lead`` read article pages.

    The defaults suit public news sites; ``allow_hosts`` is the one way to let the tool reach a
    private, loopback or link-local address (an intranet CMS), so that a pasted URL can never
    be used to probe the editor's own network by accident.
    """

    allow_hosts: list[Annotated[str, After(_check_allowed_host)]] = Field(
        default=[],
        description="Hosts (host or host:port) that may be fetched although they resolve to a "
        "private, loopback or link-local address.",
    )
    timeout: float = Field(
        15.0, gt=0, description="Seconds a whole page may take, redirects and body included."
    )
    connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for the name to resolve, and for a connection."
    )
    max_bytes: int = Field(
        3_000_000, gt=0, description="The largest page read; a bigger one is refused."
    )
    max_image_bytes: int = Field(8_000_000, gt=0, description="The largest image --download saves.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed, at most.")
    user_agent: str | None = Field(
        None, description="The User-Agent header (default: newsletter/<version> and what it does)."
    )
    ca_file: str | None = Field(
        None,
        description="A PEM file of certificate authorities to trust besides the usual ones "
        "(an intranet CMS with its own CA); a path relative to the workspace.",
    )


class SiteSettings(_Table):
    """``[site]``: the web archive that ``newsletter site`` builds from the issues.

    The site lives where ``[newsletter] asset_base_url`` points (or, without one, in the folder
    of ``web_version_url``), so that the email's images and its "View in browser" link are
    files of the site.
    """

    subscribe_url: http_url | None = Field(
        None, description="Where the pages' Subscribe link goes (default: site_url)."
    )
    per_page: int = Field(20, ge=1, le=500, description="Issues on each page of the archive.")
    feed_entries: int = Field(
        20, ge=1, le=1000, description="The newest issues the Atom and JSON feeds carry in full."
    )


class PublishSettings(_Table):
    """``[publish]``: where ``newsletter publish`` puts the site. No secret lives here: S3
    credentials come from the environment (``AWS_ACCESS_KEY_ID`` ..., or a profile)."""

    to: str | None = Field(
        None,
        description="A folder (relative to the workspace) or s3://bucket/prefix; --to overrides.",
    )
    endpoint_url: http_url | None = Field(
        None, description="An S3-compatible store's API URL (R2, MinIO ...); default: AWS."
    )
    region: str | None = Field(
        None, description="The bucket's region (default: the environment's)."
    )


class Settings(_Table):
    """The whole of ``newsletter.toml``."""

    newsletter: NewsletterSettings
    transforms: TransformSettings = TransformSettings()
    send: SendSettings = SendSettings()
    check: CheckSettings = CheckSettings()
    smtp: SmtpSettings = SmtpSettings()
    export: ExportSettings = ExportSettings()
    fetch: FetchSettings = FetchSettings()
    esp: EspSettings = EspSettings()
    theme: dict[str, Any] = Field(
        default={},
        description="Values laid over the theme's theme.toml (colours, fonts, brand, strings); "
        "checked against the theme when the workspace is loaded.",
    )
    site: SiteSettings = SiteSettings()
    publish: PublishSettings = PublishSettings()
