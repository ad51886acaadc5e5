"""Run an audit with a slow model (the subprocess that test_runner kills with SIGKILL)."""

from __future__ import annotations

import sys

import torch
from audit_helpers import make_loaded

from camlens.audit import run_audit

if __name__ == "__main__":
    torch.set_num_threads(1)
    data, out, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    run_audit(data, make_loaded(delay), out, batch_size=4, workers=0, flush_every=8, progress=False)
