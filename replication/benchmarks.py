"""``python -m replication.benchmarks``: see ``replication.cli.benchmarks``."""
from replication.cli.benchmarks import main

if __name__ == "__main__":
    raise SystemExit(main())
