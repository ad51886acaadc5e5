"""Run an audit with a slow model (the subprocess that test_runner kills or interrupts).

kill_me.py DATA OUT DELAY [FLUSH_EVERY [MARKER]]
"""

from __future__ import annotations

import signal
import sys

import torch
from audit_helpers import make_loaded

from camlens.audit import run_audit

if __name__ == "__main__":
    # A process started in the background of a non-interactive shell (CI, nohup ... &) inherits
    # SIGINT as ignored, and Python then installs no KeyboardInterrupt handler: restore it, so the
    # test's SIGINT is the Ctrl-C of an interactive run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    torch.set_num_threads(1)
    data, out, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    flush_every = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    marker = sys.argv[5] if len(sys.argv) > 5 else None
    loaded = make_loaded(delay, marker=marker)
    run_audit(data, loaded, out, batch_size=4, workers=0, flush_every=flush_every, progress=False)
