"""Record the golden outputs of ``tests/test_golden.py`` (the behaviour-equality test).

    PYTHONPATH=src python scripts/record_golden.py

Writes ``tests/data/golden/maps.npz`` (every method's maps on a tiny CNN, resnet18 and a ViT,
seeded random weights) and, when the demo checkpoint is installed (``camlens weights install``),
``tests/data/golden/cli.npz`` (``camlens explain/compare/evaluate`` on the demo model). Run it
only to accept a deliberate change of behaviour, and say so in the commit.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import golden_cases


def main() -> None:
    torch.set_num_threads(1)
    golden_cases.GOLDEN.mkdir(parents=True, exist_ok=True)
    maps = golden_cases.flatten(golden_cases.compute())
    np.savez_compressed(golden_cases.GOLDEN / "maps.npz", **maps)
    print(f"maps.npz: {len(maps)} arrays")
    if golden_cases.demo_available():
        with tempfile.TemporaryDirectory() as work:
            cli = golden_cases.cli_outputs(Path(work))
        np.savez_compressed(golden_cases.GOLDEN / "cli.npz", **cli)
        print(f"cli.npz: {len(cli)} arrays")
    else:
        print("the demo checkpoint is not installed: cli.npz not written", file=sys.stderr)


if __name__ == "__main__":
    main()
