"""``python -m replication.train``: see ``replication.cli.train``."""
from replication.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
