"""Replication suite for A3C (Mnih et al. 2016) and PAAC/A2C (Clemente et al. 2017) on Atari; see docs/design.md.

Importing the package applies two process-wide speed settings before PyTorch loads (``replication/core/runtime.py``;
a user's own setting wins): ``GOMP_SPINCOUNT=30000`` and a glibc ``malloc`` that keeps freed memory.
"""

from replication.core import runtime

runtime.apply()
