"""Quality suites, quarantine and the publication gate (Great Expectations). Built in issue 4."""
