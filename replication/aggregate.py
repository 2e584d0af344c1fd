"""``python -m replication.aggregate``: see ``replication.results.aggregate``."""
from replication.results.aggregate import main

if __name__ == "__main__":
    raise SystemExit(main())
