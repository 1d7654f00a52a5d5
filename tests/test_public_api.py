"""The names ``newsletter`` exports: each importable, and ``__all__`` in step with them."""

from __future__ import annotations

import subprocess
import sys

import newsletter


def test_all_matches_the_lazy_exports_and_each_name_resolves() -> None:
    assert sorted(newsletter.__all__) == sorted(newsletter._EXPORTS)
    for name in newsletter.__all__:
        assert getattr(newsletter, name).__name__ == name


def test_importing_the_package_and_the_cli_stays_light() -> None:
    code = "import sys, newsletter.cli; print(sorted(m for m in ('pydantic', 'premailer', 'mjml', 'jinja2') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
