"""Record the golden outputs of ``tests/test_golden.py`` (the behaviour-equality test).

    PYTHONPATH=src python scripts/record_golden.py

    PYTHONPATH=src python scripts/record_golden.py --new-cases   # only cases not yet recorded
    PYTHONPATH=src python scripts/record_golden.py --new-cases cnn/ablationcam   # + these again

Writes ``tests/data/golden/maps.npz`` (every method's maps on a tiny CNN, resnet18 and a ViT,
seeded random weights) and, when the demo checkpoint is installed (``camlens weights install``),
``tests/data/golden/cli.npz`` (``camlens explain/compare/evaluate`` on the demo model). Run it
only to accept a deliberate change of behaviour, and say so in the commit. ``--new-cases`` keeps
every recorded array and adds the cases of methods registered since (a new method is no change of
behaviour of the others); the CLI outputs are then left as they are.
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
    unknown = [a for a in sys.argv[1:] if a.startswith("-") and a != "--new-cases"]
    if unknown:  # --help included: a bare run records every case again, so never guess
        raise SystemExit(__doc__)
    torch.set_num_threads(1)
    golden_cases.GOLDEN.mkdir(parents=True, exist_ok=True)
    path = golden_cases.GOLDEN / "maps.npz"
    if "--new-cases" in sys.argv[1:]:
        with np.load(path) as data:
            maps = {k: data[k] for k in data.files}
        again = set(sys.argv[1:]) - {"--new-cases"}  # cases to record again (a deliberate change)
        maps = {k: v for k, v in maps.items() if k.split(":", 1)[0] not in again}
        recorded = {k.split(":", 1)[0] for k in maps}
        new = golden_cases.compute(skip=recorded)
        maps.update(golden_cases.flatten(new))
        np.savez_compressed(path, **maps)
        print(f"maps.npz: {len(new)} new cases ({', '.join(sorted(new))})")
        return
    maps = golden_cases.flatten(golden_cases.compute())
    np.savez_compressed(path, **maps)
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
