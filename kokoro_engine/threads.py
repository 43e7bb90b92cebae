"""How the engine's CPU worker threads wait for each other: decided before torch is first imported.

PyTorch runs each operator's loop on OpenMP threads (GNU libgomp in its CPU wheels), which by default
spin at the end of every parallel region until the others arrive. A reply runs about 20,000 such
regions. When another process holds one of the cores (Home Assistant itself, another add-on), the
thread that waits spins through its time slice while the one it waits for is not running, at every
region: a one-line reply went from 0.7 s to 16-24 s on a 2-core machine with one busy process beside
it, where a single thread took 0.75 s (docs/PERFORMANCE.md). Waiting passively (a futex sleep) costs a
wake-up per region instead, and keeps a busy box's reply about as fast as one thread's.
"""

from __future__ import annotations

import os
import sys

# OpenMP's standard variable; libgomp reads it once, when torch loads it.
WAIT_POLICY_ENV = "OMP_WAIT_POLICY"
DEFAULT_WAIT_POLICY = "PASSIVE"


def passive_thread_waits() -> bool:
    """Make OpenMP's threads sleep rather than spin while they wait, unless `OMP_WAIT_POLICY` is set
    already (an operator's choice wins). Call at program start; returns False where it can no longer
    take effect because torch is already imported."""
    if "torch" in sys.modules:
        return False
    os.environ.setdefault(WAIT_POLICY_ENV, DEFAULT_WAIT_POLICY)
    return True
