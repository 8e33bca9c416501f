"""Browser tests (a package, so that this conftest never shadows tests/conftest.py)."""
