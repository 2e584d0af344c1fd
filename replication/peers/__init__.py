"""Peer implementations trained beside ours: the Stable-Baselines3 A2C/DQN peer (``sb3``). The parity tables
are in ``replication.results.parity``, its command in ``replication.cli.parity``.

May import: ``replication.algorithms`` and everything below it. stable_baselines3 is imported inside functions
(an optional dependency: the ``bench`` and ``test`` extras)."""
