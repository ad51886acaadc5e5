"""An audit of the benchmark dataset with the tiny model; run by test_distributed under torchrun."""

from __future__ import annotations

import sys

import torch
from audit_helpers import make_loaded

from camlens.audit import run_audit

if __name__ == "__main__":
    torch.set_num_threads(1)
    data, out = sys.argv[1], sys.argv[2]
    result = run_audit(
        data, make_loaded(size=64), out, batch_size=8, workers=0, flush_every=16, progress=False
    )
    print(f"rank {result.rank}/{result.world_size} processed {result.processed}", flush=True)
