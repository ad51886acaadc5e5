"""Where the project's shared real data lives: ``$CAMLENS_SHARED_DATA``, else ``../shared/data``.

``../shared/data`` is looked for beside the repository root (when camlens runs from a source
checkout) and beside the current directory. The folder is never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "CAMLENS_SHARED_DATA"
_REPO_ROOT = Path(__file__).resolve().parents[4]  # src/camlens/models/zoo/paths.py -> root


def shared_data_candidates() -> list[Path]:
    """The folders searched, in order."""
    found: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        found.append(Path(env).expanduser())
    found.append(_REPO_ROOT.parent / "shared" / "data")
    found.append(Path.cwd().parent / "shared" / "data")
    unique: list[Path] = []
    for p in found:
        if p not in unique:
            unique.append(p)
    return unique


def shared_data_dir(sub: str = "") -> Path | None:
    """The first candidate folder that holds ``sub`` (a sub-folder name), or ``None``."""
    for base in shared_data_candidates():
        if (base / sub).is_dir():
            return base / sub
    return None
