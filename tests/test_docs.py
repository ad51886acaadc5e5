"""Every ```python block of README.md and docs/**/*.md runs, as written, in a fresh interpreter.

Conventions (also in docs/contributing.md), written on the line right before the opening fence:

* no marker: the block is a complete script and runs on its own;
* ``<!-- docs: continue -->``: the block continues the block before it in the same file; the
  two (and any chain of continued blocks) run as one script, reported under the first block;
* ``<!-- docs: skip REASON -->``: a deliberate fragment that cannot run here (a REASON is
  required; e.g. it needs a GPU or a file the reader brings). Use sparingly.

Each script runs in an empty temporary folder (files it writes land there) with one thread, the
source tree first on ``sys.path``, and a time limit. Blocks must be small and fast: the whole
docs run is meant to take a couple of minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # seconds per script (a loaded machine; each takes seconds on a free one)
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*docs:\s*(continue|skip)\b\s*(.*?)\s*-->\s*$")


@dataclass
class Script:
    """One runnable unit: a block and the blocks that continue it."""

    path: Path
    line: int  # 1-based line of the first block's opening fence
    code: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    skip: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    """README.md and every Markdown file under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def scripts_of(path: Path) -> list[Script]:
    """The scripts of one Markdown file (``python`` fences only; other languages are ignored)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    scripts: list[Script] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match or not match.group(2):
            i += 1
            continue
        language, start = match.group(2), i
        end = start + 1
        while end < len(lines) and not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        i = end + 1
        if language != "python":
            continue
        body = "\n".join(line[len(match.group(1)) :] for line in lines[start + 1 : end])
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = _MARKER.match(lines[previous]) if previous >= 0 else None
        kind = marker.group(1) if marker else None
        if kind == "skip":
            if not marker.group(2):
                raise ValueError(f"{path}:{start + 1}: `docs: skip` needs a reason")
            scripts.append(Script(path, start + 1, [body], [start + 1], skip=marker.group(2)))
        elif kind == "continue":
            if not scripts or scripts[-1].skip is not None:
                raise ValueError(f"{path}:{start + 1}: `docs: continue` with no block before")
            scripts[-1].code.append(body)
            scripts[-1].lines.append(start + 1)
        else:
            scripts.append(Script(path, start + 1, [body], [start + 1]))
    return scripts


SCRIPTS = [script for path in doc_files() for script in scripts_of(path)]


def test_docs_have_python_blocks():
    """The collector finds the README's blocks (a broken fence pattern would skip them all)."""
    readme = [s for s in SCRIPTS if s.path.name == "README.md"]
    assert len(readme) >= 2
    assert len(SCRIPTS) >= 30


def test_markers_chain_and_skip(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\na = 1\n```\n\ntext\n\n<!-- docs: continue -->\n```python\nb = a\n```\n"
        "```bash\nls\n```\n<!-- docs: skip needs a GPU -->\n```python\ncuda()\n```\n"
        "```python\nc = 3\n```\n",
        encoding="utf-8",
    )
    first, skipped, third = scripts_of(page)
    assert (first.code, first.lines) == (["a = 1", "b = a"], [1, 8])
    assert (skipped.skip, skipped.code) == ("needs a GPU", ["cuda()"])
    assert (third.code, third.skip) == (["c = 3"], None)
    page.write_text("<!-- docs: continue -->\n```python\nx\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no block before"):
        scripts_of(page)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_docs_block_runs(script: Script, tmp_path: Path):
    if script.skip is not None:
        pytest.skip(f"marked as a fragment: {script.skip}")
    parts = [
        f"# --- block at line {line}\n{code}"
        for line, code in zip(script.lines, script.code, strict=True)
    ]
    source = tmp_path / "block.py"
    source.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env.setdefault("CAMLENS_DOCS_TEST", "1")
    run = subprocess.run(
        [sys.executable, str(source)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert run.returncode == 0, (
        f"{script.name} (blocks at lines {script.lines}) failed with exit {run.returncode}:\n"
        f"{run.stderr[-4000:]}"
    )
