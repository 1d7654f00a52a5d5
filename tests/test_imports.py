"""Each command imports only what it uses: ``--help`` no model, template or HTML library, a
build no sending, fetching or pool library, ``validate`` no compiler, inliner or checker.

Start-up time is mostly imports (the cold build's largest cost), so which modules a command
loads is behaviour worth pinning; how long they take is for ``bench/compose.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: What a command loads, as the run's own ``sys.modules`` reports it after the command.
_RUN = """\
import json, sys
from newsletter.cli import cli
try:
    cli(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)
"""

HEAVY = {
    "pydantic": "nothing (the models are newsletter.model.base's, cheap to import)",
    "jinja2": "the theme",
    "mjml": "the compiler",
    "selectolax": "the checks",
    "lxml": "the premailer inliner, diff and the fetcher",
    "premailer": "the premailer inliner",
    "cssutils": "the premailer inliner",
    "css_inline": "the css-inline inliner",
    "yaml": "the loader",
    "babel": "a date in a language, the first time it is written",
    "markdown_it": "a story's Markdown, the first time it is read",
    "PIL.Image": "an image's header, the first time it is read (and the site's copies)",
    "boto3": "SES and S3",
    "httpx": "the ESP sends and the fetcher",
    "multiprocessing": "the build pool",
    "concurrent.futures.process": "the build pool",
    "aiosmtpd": "nothing (a test server)",
}


def loaded(args: list[str], cwd: Path) -> set[str]:
    """The heavy modules in ``sys.modules`` after ``newsletter ARGS`` ran in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    return {name for name in HEAVY if name in modules}


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder of the test's own: the loader's cache decides whether PyYAML loads."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A workspace made by ``newsletter init``, with its defaults."""
    subprocess.run(
        [sys.executable, "-m", "newsletter", "init", str(tmp_path / "ws")],
        check=True,
        capture_output=True,
    )
    return tmp_path / "ws"


def test_help_loads_only_click(tmp_path: Path) -> None:
    assert loaded(["--help"], tmp_path) == set()
    assert loaded(["build", "--help"], tmp_path) == set()


def test_validate_loads_no_renderer_compiler_inliner_or_checker(fresh: Path) -> None:
    assert loaded(["validate"], fresh) == {"yaml", "markdown_it"}
    # A workspace's own template is parsed to report a broken override, once: a clean result
    # is kept, and the next load imports no Jinja.
    own = fresh / "templates" / "gzero" / "email.mjml.j2"
    own.parent.mkdir(parents=True)
    own.write_text('{% extends "base.mjml.j2" %}\n{% block footer %}{% endblock %}\n')
    assert loaded(["validate"], fresh) == {"jinja2"}
    assert loaded(["validate"], fresh) == set()


def test_a_build_loads_its_stages_and_no_sender_fetcher_or_pool(fresh: Path) -> None:
    used = loaded(["build"], fresh)
    assert used == {"jinja2", "mjml", "css_inline", "yaml", "babel", "markdown_it"}
    # the unchanged issue's parse, its date and its Markdown are kept (pipeline.parsed): no
    # YAML parser, Babel or markdown-it the second time
    assert loaded(["build", "--force"], fresh) == used - {"yaml", "babel", "markdown_it"}
    # the checks read the HTML with selectolax, only when asked for
    assert loaded(["build", "--check"], fresh) == used - {"yaml", "babel", "markdown_it"} | {
        "selectolax"
    }


def test_an_image_read_before_is_linked_without_pillow(workspace_dir: Path) -> None:
    assert "PIL.Image" in loaded(["build"], workspace_dir)
    assert "PIL.Image" not in loaded(["build", "--force"], workspace_dir)
    image = workspace_dir / "assets" / "budapest-pride.jpg"
    image.write_bytes(image.read_bytes())  # saved again: read again
    assert "PIL.Image" in loaded(["build", "--force"], workspace_dir)


def test_premailer_is_loaded_only_when_it_is_the_inliner(fresh: Path) -> None:
    config = fresh / "newsletter.toml"
    config.write_text(config.read_text().replace('inliner = "css-inline"', 'inliner = "premailer"'))
    assert {"premailer", "cssutils"} <= loaded(["build", "--force"], fresh)
