"""``newsletter build [ISSUE...]``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from newsletter.cli.options import issue_paths, issues_argument, open_workspace, workspace_option


@click.command(
    "build",
    epilog="""\b
Examples:
  newsletter build                         # every issue in issues/
  newsletter build issues/2025-06-26-putin-poaches-the-neighbors.yaml
  newsletter build --json > build.json

\b
Writes out/<slug>/: email.html (inlined, for any ESP), email.txt (plain text),
email.mjml (for theme debugging), message.eml (a complete message to the sample
subscriber) and meta.json (sizes, timings, warnings).""",
)
@issues_argument
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON on stdout.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to build on (default: every core when there are 4 or more issues).",
)
def command(
    issues: tuple[Path, ...], workspace: Path | None, as_json: bool, jobs: int | None
) -> None:
    """Build issues into out/<slug>/. Without ISSUE, builds every issue in issues/.

    A failed build writes nothing and leaves the previous output as it was. Exits 0 when
    every issue was built, 1 when any had a problem.
    """
    from newsletter.commands.build import BuildResult, build_issues, write_atomically
    from newsletter.errors import Problem, ProblemsError

    ws = open_workspace(workspace)
    problems: list[Problem] = []
    summary: list[dict[str, object]] = []
    slugs: dict[str, str] = {}
    for result in build_issues(issue_paths(ws, issues), ws, jobs=jobs):
        name = ws.display(result.source)
        if result.ok and result.slug in slugs:
            clash = f"slug '{result.slug}' is also built from {slugs[result.slug]}; rename one"
            result = BuildResult(result.source, problems=(Problem(name, "slug", clash),))
        if not result.ok:
            problems.extend(result.problems)
            summary.append({"ok": False, "source": name, "problems": [*map(str, result.problems)]})
            continue
        slugs[result.slug] = name
        folder = ws.out_dir / result.slug
        write_atomically(folder, result.files)
        meta = result.meta()
        summary.append({"ok": True, "out": ws.display(folder), **meta})
        if not as_json:
            _report(ws.display(folder), meta, clip_kb=ws.settings.check.clip_kb)
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    if problems:
        raise ProblemsError(problems)


def _report(folder: str, meta: dict[str, object], *, clip_kb: float) -> None:
    sizes = meta["sizes"]
    timings = meta["timings_ms"]
    assert isinstance(sizes, dict) and isinstance(timings, dict)
    html = sizes["email.html"]
    clip = f"{html / 1024:.1f} KB of Gmail's {clip_kb:g} KB"
    total = sum(timings.values())
    click.echo(
        f"built {folder}/  html {clip}, text {sizes['email.txt'] / 1024:.1f} KB, {total:.0f} ms"
    )
    for warning in meta.get("warnings", []) or []:  # type: ignore[attr-defined]
        click.echo(f"  warning: {warning}")
    findings = meta.get("findings") or []
    assert isinstance(findings, list)
    if findings:
        from newsletter.pipeline.checks.report import count

        counts = count(str(f["severity"]) for f in findings)
        click.echo(f"  {counts} (run newsletter check for details)")
