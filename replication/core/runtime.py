"""Process-wide runtime settings for training speed, applied when the package is imported (``__init__.py``).

Both are engineering, not from the papers, and both leave a user's own setting alone:

* ``GOMP_SPINCOUNT=30000`` (environment): libgomp, PyTorch's OpenMP runtime on Linux, keeps each idle torch
  thread spinning for 300,000 iterations (its default when ``OMP_WAIT_POLICY`` is unset) after every parallel
  region. A2C alternates the network with ale-py's emulator threads on the same cores, so that spin takes a core
  from the emulators. With 30,000 the bench (``replication/bench/throughput.py``) measured A2C at 32 environments 7-13%
  faster on a 2-core Xeon; DQN and Nature-16 A2C were unchanged. ``OMP_WAIT_POLICY=PASSIVE`` (no spin) was
  slower: every parallel region then wakes a sleeping thread. libgomp reads the variable once, when torch is
  first imported, so it takes effect only in processes that import ``replication`` before ``torch``
  (``python -m replication.train`` / ``.bench`` do).
* glibc ``malloc`` keeps freed memory (``mallopt``: mmap threshold 32 MiB, trim threshold 1 GiB): by default
  glibc hands large freed blocks back to the kernel, so every update's autograd buffers (activations, gradients:
  megabytes) are page-faulted in afresh. In an A2C update with the Nature network at 16 environments that was
  ~4,300 minor page faults per update; with these settings ~660, and training ran 8% (fp32) and 4% (bf16)
  faster over three alternating runs. The cost is a resident size that stays at its peak instead of shrinking
  between updates. Skipped where the C library is not glibc, or where ``GLIBC_TUNABLES`` / ``MALLOC_*_``
  variables already set malloc's behaviour.
"""

from __future__ import annotations

import ctypes
import os
import platform

OMP_SPIN_DEFAULT = "30000"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameter numbers from glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 32 * 2 ** 20  # glibc's upper limit for the mmap threshold on 64-bit hosts
TRIM_THRESHOLD_BYTES = 2 ** 30
_malloc_tuned: bool | None = None  # set by apply()


def apply() -> None:
    """Apply both settings (``replication/__init__.py`` calls this on import, before anything imports torch)."""
    global _malloc_tuned
    set_omp_spin_default()
    _malloc_tuned = keep_freed_memory()


def settings() -> dict:
    """The runtime settings in effect, as recorded in each run's provenance: the OpenMP variables (None where
    unset) and whether ``keep_freed_memory`` tuned malloc in this process (None before ``apply``)."""
    env = {k: os.environ.get(k) for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    return {**env, "malloc_keeps_freed_memory": _malloc_tuned}


def set_omp_spin_default() -> str:
    """Set ``GOMP_SPINCOUNT`` to ``OMP_SPIN_DEFAULT`` unless it is set; returns the value in effect."""
    return os.environ.setdefault("GOMP_SPINCOUNT", OMP_SPIN_DEFAULT)


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed blocks for reuse (see the module docstring); returns whether it did.

    Does nothing (returns False) on a C library other than glibc or when the user configured malloc through
    ``GLIBC_TUNABLES`` (``glibc.malloc.*``) or ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_THRESHOLD_``.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", "") or any(
            k in os.environ for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
