"""docs/metrics.md: the usage example runs and prints one line per metric."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_usage_example_runs() -> None:
    text = DOC.read_text()
    usage = text[text.index("## Usage") :]
    code = re.search(r"```python\n(.*?)```", usage, re.S).group(1)
    out = subprocess.run(
        [sys.executable, "-c", "import torch; torch.set_num_threads(1)\n" + code],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "pointing_game",
        "deletion",
        "sanity_randomisation",
    ]
    assert "higher is better" in lines[0] and "lower is better" in lines[1]
