"""Each HTML step on its own: exact HTML in, exact HTML out."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import NewsletterError
from newsletter.model.artifact import ImageRewrite, LinkRewrite
from newsletter.pipeline.transforms import absolute_assets, add_utm, inline_css
from newsletter.pipeline.transforms.utm import with_params

PARAMS = {"utm_source": "newsletter", "utm_medium": "email"}


class TestUtm:
    def test_adds_parameters_and_the_slot(self) -> None:
        html = '<div class="nl-slot-lead"><a href="https://e.com/a">x</a></div>'
        out, links = add_utm(html, PARAMS)
        assert out == (
            '<div class="nl-slot-lead"><a href="https://e.com/a?utm_source=newsletter&amp;'
            'utm_medium=email&amp;utm_content=lead">x</a></div>'
        )
        final = "https://e.com/a?utm_source=newsletter&utm_medium=email&utm_content=lead"
        assert links == (LinkRewrite("https://e.com/a", final, "lead"),)

    def test_keeps_query_and_fragment_and_never_overrides(self) -> None:
        html = '<a href="https://e.com/a?utm_source=partner&amp;x=1#top">x</a>'
        assert (
            add_utm(html, PARAMS).html
            == '<a href="https://e.com/a?utm_source=partner&amp;x=1&amp;utm_medium=email#top">x</a>'
        )

    def test_a_link_belongs_to_the_last_slot_opened_before_it(self) -> None:
        html = (
            '<td class="nl-slot-teaser-1-outlook"></td><div class="mj-column nl-slot-teaser-1"><a href="https://e.com/1">1</a></div>'
            '<div class="nl-slot-teaser-12 x"><a class="k" href="https://e.com/12">12</a></div>'
        )
        out, links = add_utm(html, {"utm_source": "n"})
        assert [link.slot for link in links] == ["teaser-1", "teaser-12"]
        assert 'href="https://e.com/1?utm_source=n&amp;utm_content=teaser-1"' in out
        assert 'href="https://e.com/12?utm_source=n&amp;utm_content=teaser-12"' in out

    def test_only_a_class_word_outside_a_link_s_own_tag_opens_a_slot(self) -> None:
        html = (
            '<div class="nl-slot-lead">xnl-slot-words nl-slot-in-text <a class="nl-slot-footer" '
            "href='https://e.com/1'>1</a></div><P CLASS='a nl-slot-teaser-2'><A HREF=\"https://e.com/2\">"
        )
        _, links = add_utm(html, {"utm_source": "n"})
        assert [link.slot for link in links] == ["lead", "teaser-2"]

    @pytest.mark.parametrize(
        "href",
        ["%%unsubscribe_url%%", "mailto:a@e.com", "/relative", "#top", "javascript:void(0)", ""],
    )
    def test_leaves_non_http_links_alone(self, href: str) -> None:
        html = f'<div class="nl-slot-lead"><a href="{href}">x</a></div>'
        assert add_utm(html, PARAMS) == (html, ())

    def test_returns_input_when_nothing_to_do(self) -> None:
        html = '<a href="https://e.com/">x</a>'
        assert add_utm(html, {}).html is html
        assert add_utm('<a href="https://e.com/?utm_source=a&amp;utm_medium=b">', PARAMS)[1] == ()
        assert (
            with_params("https://e.com/?utm_source=a&utm_medium=b", PARAMS)
            == "https://e.com/?utm_source=a&utm_medium=b"
        )


class TestAssets:
    def test_relative_sources_join_the_base_url(self) -> None:
        html = '<img alt="" src="assets/a b.jpg"><img src="https://cdn.e.com/x.png" alt=""><img src="data:image/png;base64,AA" alt="">'
        out, images = absolute_assets(html, "https://e.com/files", Path("/ws"))
        assert out == (
            '<img alt="" src="https://e.com/files/assets/a%20b.jpg"><img src="https://cdn.e.com/x.png" alt="">'
            '<img src="data:image/png;base64,AA" alt="">'
        )
        url = "https://e.com/files/assets/a%20b.jpg"
        assert images == (ImageRewrite("assets/a b.jpg", url, Path("/ws/assets/a b.jpg")),)

    def test_returns_input_when_nothing_is_local(self) -> None:
        html = '<img src="https://cdn.e.com/x.png" alt="">'
        assert absolute_assets(html, "https://e.com/").html is html


class TestInline:
    HTML = (
        "<html><head><style>.x { color: red; } @media (max-width: 479px) { .x { color: blue !important; } }"
        '</style></head><body><p class="x">Hi</p></body></html>'
    )

    @pytest.mark.parametrize("engine", ["premailer", "css-inline"])
    def test_inlines_rules_and_keeps_media_queries_with_important(self, engine: str) -> None:
        out = inline_css(self.HTML, engine=engine)  # type: ignore[arg-type]
        assert 'style="color:red"' in out.replace(" ", "").replace(";", "")
        assert "@media (max-width: 479px) { .x { color: blue !important; } }" in out

    @pytest.mark.parametrize("engine", ["premailer", "css-inline"])
    def test_never_fetches_remote_stylesheets_and_keeps_their_links(self, engine: str) -> None:
        html = self.HTML.replace(
            "<style>",
            '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=X"><style>',
        )
        # would raise or hang on this offline machine if the engine fetched the stylesheet
        out = inline_css(html, engine=engine)  # type: ignore[arg-type]
        assert "fonts.googleapis.com" in out

    def test_failures_are_raised_not_swallowed(self) -> None:
        with pytest.raises(NewsletterError, match=r"CSS inlining \(premailer\) failed"):
            inline_css("", engine="premailer")


class TestInlineOnlyMarkedBlocks:
    """Like MJML's <mj-style inline="inline">: blocks starting /* inline */ are inlined, the rest
    (MJML's reset) stays in <style> as MJML leaves it."""

    HTML = (
        "<html><head><style>td { border-collapse: collapse; }</style>"
        '<style type="text/css">\n  /* inline */ .x { color: red; }</style></head>'
        '<body><table><tr><td class="x">Hi</td></tr></table></body></html>'
    )

    @pytest.mark.parametrize("engine", ["premailer", "css-inline"])
    def test_only_marked_blocks_are_inlined_and_no_attribute_is_left(self, engine: str) -> None:
        out = inline_css(self.HTML, engine=engine)  # type: ignore[arg-type]
        cell = out[out.index("<td") : out.index(">Hi")]
        assert "color" in cell and "red" in cell
        assert "border-collapse" not in cell
        assert "td { border-collapse: collapse; }" in out
        assert "data-premailer" not in out and "data-css-inline" not in out

    def test_without_a_marked_block_everything_is_inlined(self) -> None:
        out = inline_css(self.HTML.replace("/* inline */", ""))
        cell = out[out.index("<td") : out.index(">Hi")]
        assert "border-collapse" in cell and "red" in cell
