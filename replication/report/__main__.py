from replication.report.build import main

if __name__ == "__main__":
    raise SystemExit(main())
