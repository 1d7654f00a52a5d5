"""What every issue's output is made from besides its own file: the tool, the settings, the
theme and the assets, as one digest.

``build`` and ``site`` each keep a cache of what they made, keyed by an issue's bytes and this
digest; a change to any of these files changes it, and so rebuilds everything. Files are
compared by name, size and modification time (the issue files themselves by their bytes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from newsletter.model.workspace import Workspace

__all__ = ["inputs_digest"]

_PACKAGE = Path(__file__).resolve().parent.parent


def inputs_digest(workspace: Workspace) -> str:
    """The digest of the tool's code, ``newsletter.toml``, the theme chain and ``assets/``."""
    digest = hashlib.sha256()
    stats = [*_stats(_PACKAGE, "*.py"), *_stats(workspace.root / "assets", "*")]
    for folder in workspace.theme_dirs:
        stats.extend(_stats(folder, "*"))
    digest.update(workspace.config_path.read_bytes())
    digest.update(repr(sorted(stats)).encode())
    return digest.hexdigest()


def _stats(folder: Path, pattern: str) -> list[tuple[str, int, int]]:
    """Name, size and modification time of each file under ``folder``: what a change to any
    of them changes."""
    found = []
    for path in folder.rglob(pattern) if folder.is_dir() else ():
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return found
