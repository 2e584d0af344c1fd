"""``python -m replication.bench``: throughput of ours and of the Stable-Baselines3 peer beside the hardware
limits (``throughput``).

May import: ``replication.report`` and everything below it."""
