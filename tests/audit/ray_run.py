"""The driver of a Ray audit (the subprocess that test_ray_engine SIGKILLs, then runs again).

ray_run.py DATA OUT DELAY MARKER: connects to the cluster in RAY_ADDRESS, audits DATA with the
slow tiny model (DELAY seconds per forward, each forward noted in MARKER) into OUT.
"""

from __future__ import annotations

import sys

import torch
from audit_helpers import make_loaded

from camlens.audit import run_audit

if __name__ == "__main__":
    torch.set_num_threads(1)
    data, out, delay, marker = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    loaded = make_loaded(delay, marker=marker)
    result = run_audit(
        data, loaded, out, engine="ray", batch_size=2, flush_every=2, concurrency=2,
        progress=False,
    )  # fmt: skip
    print(f"processed {result.processed} of {result.total}", flush=True)
