"""The wheel carries the theme and py.typed: an install outside the repository can init and
build, and type checkers read its hints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO


def test_the_wheel_installs_a_working_tool_with_its_theme(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
        check=True,
    )
    (wheel,) = wheels.glob("newsletter-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    assert (target / "newsletter" / "templates" / "gzero" / "email.mjml.j2").is_file()
    assert (target / "newsletter" / "py.typed").is_file()  # a user's mypy reads the hints

    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import newsletter.model.workspace as w; print(w.builtin_themes())"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(target / "newsletter" / "templates")

    def newsletter(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "newsletter", *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
        )

    assert newsletter("init", "letter", cwd=tmp_path).returncode == 0
    built = newsletter("build", cwd=tmp_path / "letter")
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built out/")
