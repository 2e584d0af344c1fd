"""Results: run directories turned into tables and judged against the papers. The tables of finished runs
(``aggregate``), means with bootstrap CIs and across-game summaries (``stats``, ``summary``), the speed-up over
workers (``speedup``), ours beside the paper's numbers and the claim rules (``verdict``), the papers' claims held or
not (``claims``), ours beside the Stable-Baselines3 peer (``parity``), why a run does not learn (``optimizer_census``,
``activation_census``), table cells as text (``fmt``) and the papers' own numbers (``reference``, from
``replication/data``).

May import: ``replication.core``, ``replication.envs``, ``replication.runs``, ``replication.algorithms``,
``replication.peers``, ``replication.config``. Draws nothing: the report does."""
