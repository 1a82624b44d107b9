"""The publish tests' fixtures are shared with the other packages' tests and live in
tests/conftest.py: the session's real CKAN portal (``portal``, ``admin``, ``anonymous``: the Dagster
run of `hub publish` in tests/orchestration publishes to it too), the small demo run
(``SMALL_DEMO``, ``demo_home``) and ``copy_home``."""
