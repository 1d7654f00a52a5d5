"""A theme's values: the colours, fonts, sizes, layout, brand and words its templates use.

A theme is a folder of templates with a ``theme.toml`` that holds these values (mkdocs keeps
the same split between ``mkdocs_theme.yml`` and its templates). A theme may ``extends``
another one: its folder is searched first and its values are laid over the other's, so a
publication restyles the built-in theme by overriding a few values or one block. The
``[theme]`` table of ``newsletter.toml`` is the last layer, for a workspace's brand (logo,
accent colour, social links) without a theme folder of its own.

The defaults live in the base theme's ``theme.toml``, never here: these models only say what a
value must look like, so a typo in a key or a colour is an error that names the file.
"""

from pathlib import Path
from typing import Annotated, Literal

from newsletter.model.base import Field, Model
from newsletter.model.settings import http_url
from newsletter.record import Record

__all__ = [
    "Brand",
    "Colors",
    "Fonts",
    "Layout",
    "SocialLink",
    "Spacing",
    "Theme",
    "ThemeValues",
    "lookup_strings",
]

#: A colour as the theme writes it: ``#rrggbb`` (what every client understands, and what the
#: contrast check can compute).
Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class _Table(Model):
    """A table of a theme's values: unknown keys are problems, and the values are frozen."""


class Colors(_Table):
    """One colour scheme: ``[colors]`` (light) and ``[dark]`` (``prefers-color-scheme: dark``)."""

    page: Color = Field(description="Behind the card, and the footer's background.")
    card: Color = Field(description="The card that holds the header, lead and teasers.")
    text: Color = Field(description="Body text.")
    heading: Color = Field(description="Headlines and the masthead.")
    muted: Color = Field(description="Dates, bylines, credits, the View in browser link.")
    link: Color = Field(description="Links in text.")
    accent: Color = Field(description="The kicker and the button.")
    on_accent: Color = Field(description="Text on the accent colour (the button's).")
    rule: Color = Field(description="The rules under the masthead and above the teasers.")
    soft_rule: Color = Field(description="Quotes' left border.")
    footer_text: Color = Field(description="The footer's text.")
    footer_link: Color = Field(description="The footer's links.")


class Fonts(_Table):
    """``[fonts]``: CSS font stacks (web fonts are not loaded: most clients ignore them)."""

    body: str = Field(description="Text, buttons, the footer.")
    heading: str = Field(description="The masthead and headlines.")


class Spacing(_Table):
    """``[spacing]``: sizes in px."""

    width: int = Field(ge=320, le=800, description="The email's width on desktops.")
    gutter: int = Field(ge=0, le=64, description="Space left and right of the text.")
    top: int = Field(ge=0, le=96, description="Space above the card on wide screens.")
    text: int = Field(ge=12, le=24, description="Body text size.")
    small: int = Field(ge=10, le=18, description="Meta lines, credits, footer.")
    headline: int = Field(ge=18, le=48, description="The lead's headline.")
    teaser_headline: int = Field(ge=14, le=32, description="Teasers' headlines.")
    section_heading: int = Field(ge=12, le=36, description='The "More from" heading.')


class Layout(_Table):
    """``[layout]``: what the templates show, and how the teasers sit."""

    teaser_columns: Literal[1, 2] = Field(description="Teasers side by side on wide screens.")
    teaser_images: bool = Field(description="Show teasers' images.")
    lead_image: bool = Field(description="Show the lead's image.")
    lead_words: int = Field(
        ge=0,
        description="Cut the lead's body after the paragraph that reaches this many words, "
        'with a "Continue reading" link; 0 shows it whole.',
    )
    date_format: str = Field(
        description='A Babel date format: "short", "medium", "long", "full" or a pattern.'
    )
    smart_quotes: bool = Field(
        description="Straight quotes in the issue's copy set as typographic ones (“ ” ‘ ’), "
        "in the language's own marks; an issue's smart_quotes overrides it."
    )


class SocialLink(_Table):
    """One link of the footer's social row."""

    label: str = Field(min_length=1, description="The link's text, e.g. X or LinkedIn.")
    url: http_url


class Brand(_Table):
    """``[brand]``: the publication's marks. Every one is optional."""

    logo: str = Field(description="An image for the masthead: assets/logo.png or an https URL.")
    logo_width: int = Field(ge=40, le=600, description="The logo's display width in px.")
    logo_height: int = Field(ge=10, le=300, description="Its height in px (kept when blocked).")
    intro: str = Field(description="A line under the masthead; merge fields allowed.")
    subscribe_url: str = Field(description='"Forwarded this? Subscribe" link; "" for none.')
    social: list[SocialLink] = Field(description="Links shown in the footer.")


class ThemeValues(_Table):
    """Everything a ``theme.toml`` (all layers laid over each other) holds."""

    name: str = Field(description="The theme's name, as [newsletter] template names it.")
    extends: str = Field("", description="The theme this one is laid over.")
    description: str = Field("", description="What the theme is for.")
    colors: Colors
    dark: Colors
    fonts: Fonts
    spacing: Spacing
    layout: Layout
    brand: Brand
    strings: dict[str, dict[str, str]] = Field(
        description="The theme's words: language -> key -> text; 'en' holds every key."
    )


class Theme(Record):
    """A loaded theme: its values and the folders its templates are looked up in, in order."""

    values: ThemeValues
    dirs: tuple[Path, ...]

    @property
    def name(self) -> str:
        return self.values.name

    def strings(self, lang: str) -> dict[str, str]:
        """The theme's words in ``lang``: see :func:`lookup_strings`."""
        return lookup_strings(self.values.strings, lang)


def lookup_strings(table: dict[str, dict[str, str]], lang: str) -> dict[str, str]:
    """Every key of ``table['en']`` in ``lang``: ``pt-BR`` falls back to ``pt``, then ``en``,
    key by key, so a language table that lacks a newer key still reads."""
    base = lang.split("-")[0].lower()
    words = dict(table.get("en", {}))
    for code in (base, lang):
        words.update(table.get(code, {}))
    return words
