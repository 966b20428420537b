"""Puts tests/ on sys.path (rootdir conftest) so the suites share `pg_worker_db`."""
