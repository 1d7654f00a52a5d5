"""The names ``newsletter`` exports: each importable, and ``__all__`` in step with them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import newsletter


def test_all_matches_the_lazy_exports_and_each_name_resolves() -> None:
    assert sorted(newsletter.__all__) == sorted(newsletter._EXPORTS)
    for name in newsletter.__all__:
        module = importlib.import_module(f"newsletter.{newsletter._EXPORTS[name]}")
        assert name in vars(module), f"{name} is not defined in newsletter.{module.__name__}"
        assert name in module.__all__, f"{module.__name__}.__all__ lacks {name}"
        assert getattr(newsletter, name) is vars(module)[name]


def test_importing_the_package_and_the_cli_stays_light() -> None:
    code = "import sys, newsletter.cli; print(sorted(m for m in ('pydantic', 'premailer', 'mjml', 'jinja2') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
