"""The workflow config: load and validate a YAML file against the schema, plan its runs and resolve one run
(``resolve``), a run directory's identity check against the algorithm's defaults (``identity``), and building a
``TrainingRun`` with its train function from a resolved config (``launch``).

May import: ``replication.peers`` and everything below it."""
