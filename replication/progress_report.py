"""``python -m replication.progress_report``: see ``replication.report.progress_report``."""
from replication.report.progress_report import main

if __name__ == "__main__":
    raise SystemExit(main())
