"""The Atari environments (``atari``: ALE v5 with the papers' preprocessing, vectorised) and the evaluation
protocols (``evaluate``: no-op and human starts).

May import: ``replication.core``."""
