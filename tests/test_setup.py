"""``./scripts/setup && .venv/bin/newsletter build`` on a machine with Python and nothing else.

The first README command must not need apt, sudo or a browser (only the tests do, and
``scripts/test`` installs those). The test runs the real script on a copy of the repository
with a PATH from which ``apt-get``, ``apt``, ``sudo`` and ``chromium`` are gone. pip runs for
real too, offline: the new ``.venv`` sees this one's packages through a ``.pth`` file, so
``pip install -e '.[dev]'`` finds every requirement satisfied without an index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

from tests.conftest import EXAMPLE, REPO

HIDDEN = {"apt", "apt-get", "sudo", "chromium", "chromium-browser", "google-chrome"}


def _path_without_apt(tmp_path: Path) -> str:
    """A folder of links to every program on the PATH but the hidden ones."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not Path(folder).is_dir() or ".venv" in folder:
            continue
        for program in Path(folder).iterdir():
            target = bin_dir / program.name
            if program.name not in HIDDEN and not target.exists():
                target.symlink_to(program)
    return str(bin_dir)


def test_setup_then_build_works_without_apt_sudo_or_a_browser(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "out", "*_cache", ".cache", ".hypothesis", "__pycache__", ".newsletter"
    )
    shutil.copytree(REPO, clone, ignore=ignore)
    path = _path_without_apt(tmp_path)
    assert shutil.which("apt-get", path=path) is None
    assert shutil.which("chromium", path=path) is None
    python3 = shutil.which("python3", path=path)
    assert python3 is not None
    subprocess.run([python3, "-m", "venv", str(clone / ".venv")], check=True)
    site = subprocess.run(
        [
            str(clone / ".venv/bin/python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "parent-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        "PATH": path,
        "HOME": str(tmp_path),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }

    setup = subprocess.run(
        ["bash", "scripts/setup"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert setup.returncode == 0, setup.stderr
    assert "installing newsletter" in setup.stderr  # it says what it does while pip runs
    assert "apt" not in setup.stdout + setup.stderr

    build = subprocess.run(
        [".venv/bin/newsletter", "build"], cwd=clone, env=env, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (clone / "out" / EXAMPLE / "email.html").stat().st_size > 10_000
    # the tool that ran is the clone's, not this checkout's
    where = subprocess.run(
        [".venv/bin/python", "-c", "import newsletter; print(newsletter.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(clone)), where
