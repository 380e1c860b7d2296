from tests.ocds.schema import offline_cove  # noqa: F401  (a fixture of these tests)
