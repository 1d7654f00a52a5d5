"""Pre-send review: rules over a finished :class:`~newsletter.model.artifact.Artifact`.

Each rule is a small function of a shared :class:`~newsletter.checks.context.Context` (the HTML
is parsed once) that yields what it found and where; :data:`RULES` gives each one an id and a
default severity, in the order they run. ``[check.rules]`` in ``newsletter.toml`` turns a rule
off or changes its severity, and ``[check]`` holds the thresholds::

    [check]
    subject_max = 50
    clients = ["gmail", "apple-mail"]
    [check.rules]
    link-text = "off"
    preheader-missing = "error"

``newsletter check`` prints the findings, ``build`` records them in ``meta.json``, and ``send``
refuses an email with an ``error`` finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

from newsletter.model.findings import SEVERITIES, Finding, Severity
from newsletter.pipeline.checks import (
    accessibility,
    clients,
    deliverability,
    images,
    language,
    leftovers,
    links,
    placeholders,
    plaintext,
    site,
    size,
    subject,
)
from newsletter.pipeline.checks.context import Context, Hit

if TYPE_CHECKING:
    from email.message import EmailMessage

    from newsletter.model.artifact import Artifact
    from newsletter.model.workspace import Workspace

__all__ = ["BLOCKS_EXPORT", "LIST_SEND_ERRORS", "RULES", "Rule", "run_checks"]


class Rule(NamedTuple):
    """A named check, its default severity and what it looks for."""

    id: str
    severity: Severity
    run: Callable[[Context], Iterator[Hit]]

    @property
    def summary(self) -> str:
        """What the rule finds: the first paragraph of its function's docstring."""
        first = (self.run.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(first.replace("``", "").split())


_TABLE: tuple[tuple[str, Severity, Callable[[Context], Iterator[Hit]]], ...] = (
    ("size-clipped", "error", size.clipped),
    ("size-near-clip", "warning", size.near_clip),
    ("link-insecure", "warning", links.insecure),
    ("link-empty", "error", links.empty),
    ("link-javascript", "error", links.javascript),
    ("link-local", "error", links.local),
    ("link-text", "warning", links.vague_text),
    ("link-utm", "warning", links.utm),
    ("link-unsubscribe", "error", links.unsubscribe),
    ("image-relative", "error", images.relative),
    ("image-alt-missing", "error", images.alt_missing),
    ("image-alt-filename", "warning", images.alt_filename),
    ("image-insecure", "warning", images.insecure),
    ("image-heavy", "warning", images.heavy),
    ("image-width", "warning", images.no_width),
    ("image-alt-caption", "warning", images.alt_caption),
    ("subject-empty", "error", subject.subject_empty),
    ("subject-long", "warning", subject.subject_long),
    ("subject-shouting", "warning", subject.shouting),
    ("preheader-missing", "warning", subject.preheader_missing),
    ("preheader-long", "warning", subject.preheader_long),
    ("preheader-repeats-subject", "warning", subject.preheader_repeats),
    ("a11y-lang", "warning", accessibility.lang),
    ("a11y-title", "warning", accessibility.title),
    ("a11y-presentation", "warning", accessibility.presentation),
    ("a11y-contrast", "warning", accessibility.contrast),
    ("a11y-headings", "warning", accessibility.headings),
    ("lang-script", "warning", language.script_mismatch),
    ("leftover-template", "error", leftovers.template_syntax),
    ("leftover-merge-field", "error", leftovers.merge_fields),
    ("text-missing", "error", plaintext.missing),
    ("text-markup", "warning", plaintext.markup),
    ("text-links", "warning", plaintext.missing_links),
    ("placeholder", "warning", placeholders.placeholder),
    ("from-address", "error", deliverability.from_address),
    ("list-unsubscribe", "warning", deliverability.list_unsubscribe),
    ("list-unsubscribe-one-click", "warning", deliverability.one_click),
    ("unsubscribe-secret", "warning", deliverability.unsubscribe_secret),
    ("client-support", "info", clients.client_support),
    ("site-asset-missing", "error", site.asset_missing),
    ("site-page-missing", "warning", site.page_missing),
)

#: Rules whose findings stop what leaves the machine (``export``, every send) whatever their
#: severity in ``[check.rules]``: a relative image or link cannot work in anyone's inbox.
BLOCKS_EXPORT = frozenset({"image-relative", "link-local"})
#: Rules a list send treats as errors although ``check`` only warns: placeholders are fine in
#: a test send to the editor, never in one to the list.
LIST_SEND_ERRORS = frozenset({"placeholder"})

#: rule id -> rule, in the order the rules run.
RULES: Mapping[str, Rule] = {
    rule_id: Rule(rule_id, severity, run) for rule_id, severity, run in _TABLE
}


def run_checks(
    artifact: Artifact,
    workspace: Workspace,
    *,
    message: EmailMessage | None = None,
) -> list[Finding]:
    """Every finding of the enabled rules on ``artifact``'s email, most severe first.

    ``message`` is the RFC 5322 message whose headers are checked; by default the artifact's
    own, the one ``build`` makes for the sample subscriber.
    """
    context = Context(artifact, workspace, message=message)
    configured = workspace.settings.check.rules
    findings: list[Finding] = []
    for rule in RULES.values():
        severity = configured.get(rule.id, rule.severity)
        if severity == "off":
            continue
        findings.extend(
            Finding(rule.id, severity, hit.message, hit.location) for hit in rule.run(context)
        )
    findings.sort(key=lambda f: SEVERITIES.index(f.severity))
    return findings
