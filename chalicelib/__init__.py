"""Serving PFA models behind a Chalice REST API."""

# The service's version: GET /v2 answers it, and openapi.yaml's info.version is the same.
__version__ = "1.2.0"
