"""``python -m replication.diagnose``: see ``replication.cli.diagnose``."""
from replication.cli.diagnose import main

if __name__ == "__main__":
    raise SystemExit(main())
