"""One run directory: its paths, files and identity (``rundir``), the one CSV log reader (``read``) and writer
(``logs.CsvLog``), the ``TrainingRun`` every algorithm reports to (``training``: logs, checkpoints, evaluation,
progress), the progress bar (``progress``), TensorBoard files (``tensorboard``), host provenance (``provenance``) and
run records, a run's logs kept once its directory is gone (``record``).

May import: ``replication.core``, ``replication.envs``. Knows no algorithm: the dataclass defaults it compares run
identities with are handed to it (``replication.config.identity``)."""
