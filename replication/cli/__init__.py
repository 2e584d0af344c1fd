"""The commands that write a run directory or a results folder from several parts: ``train`` (one run),
``parity`` (the peer's runs and tables), ``benchmarks`` and ``claims`` (a results folder from run directories).
The top-level ``replication/<command>.py`` modules delegate here so ``python -m replication.<command>`` works.

May import: every other part of ``replication``; nothing imports it."""
