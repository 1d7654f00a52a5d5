"""A Markdown link whose target is a merge field is filled per subscriber, not percent-encoded."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from lxml import html as lxml_html

from newsletter.pipeline.stages import build_issue
from newsletter.workspace import load_workspace

from .conftest import EXAMPLE


def test_a_body_link_to_a_merge_field_reaches_the_subscriber(workspace_dir: Path) -> None:
    path = workspace_dir / "issues" / f"{EXAMPLE}.yaml"
    path.write_text(
        path.read_text().replace(
            "  body: |\n",
            "  body: |\n    Had enough? [Unsubscribe here](%%unsubscribe_url%%).\n\n",
            1,
        )
    )
    result = build_issue(path, load_workspace(workspace_dir))
    assert result.artifact is not None, result.problems
    assert 'href="%%unsubscribe_url%%"' in result.artifact.email.html
    assert "%25%25" not in result.artifact.email.html
    assert not [f for f in result.artifact.findings if f.id.startswith("link-")]
    message = message_from_bytes(result.artifact.message, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = lxml_html.fromstring(html).xpath("//a[text()='Unsubscribe here']/@href")
    assert links and links[0].startswith("https://www.gzeromedia.com/newsletter/unsubscribe?token=")
