"""``python -m replication.parity``: see ``replication.cli.parity``."""
from replication.cli.parity import main

if __name__ == "__main__":
    raise SystemExit(main())
