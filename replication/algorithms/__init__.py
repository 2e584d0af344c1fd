"""The algorithms, one module each, read top to bottom like the papers' pseudocode: A2C/PAAC (``a2c``,
Clemente et al. 2017 Algorithm 1), A3C (``a3c``: one actor-learner, Mnih et al. 2016
Algorithm S3; ``a3c_supervisor``: the parent that starts the workers and keeps the run's books),
DQN (``dqn``, Mnih et al. 2015) with its replay memory (``replay``), and the registry (``registry``: one spec per
algorithm with its config class, train function and environment defaults).

May import: ``replication.core``, ``replication.envs``, ``replication.runs``."""
