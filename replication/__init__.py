"""Replication suite for A3C (Mnih et al. 2016) and PAAC/A2C (Clemente et al. 2017) on Atari; see DESIGN.md.

Importing the package sets one runtime default before PyTorch loads (a value the user set wins):

``GOMP_SPINCOUNT=30000``. Engineering, not from the papers: libgomp, PyTorch's OpenMP runtime on Linux, keeps
each idle torch thread spinning for 300,000 iterations (its default when ``OMP_WAIT_POLICY`` is unset) after
every parallel region. A2C alternates the network with ale-py's emulator threads
on the same cores, so that spin takes a core from the emulators for most of each agent step. With 30,000 the
bench (``replication/bench.py``) measured A2C at 32 environments 7-13% faster on a 2-core Xeon; DQN and Nature-16
A2C were unchanged. ``OMP_WAIT_POLICY=PASSIVE`` (no spin) was slower: every parallel region then wakes a
sleeping thread. libgomp reads the variable once, when torch is first imported, so it only takes effect in
processes that import ``replication`` before ``torch`` (``python -m replication.train`` / ``.bench`` do).
"""

import os

OMP_SPIN_DEFAULT = "30000"
os.environ.setdefault("GOMP_SPINCOUNT", OMP_SPIN_DEFAULT)
