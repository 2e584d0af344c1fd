"""``python -m replication.claims``: see ``replication.cli.claims``."""
from replication.cli.claims import main

if __name__ == "__main__":
    raise SystemExit(main())
