"""Serving PFA models behind a Chalice REST API."""
