"""Load tests for the scoring service: an open arrival model in locust, and a report beside the published figures.

`python -m loadtest.run` (what `make loadtest` runs) serves the app locally, drives it from
`loadtest/locustfile.py` and writes `loadtest/reports/<UTC time>-<profile>/`; see loadtest/README.md.
"""
