"""The web page served at ``GET /``."""

from chalice import Response


def page() -> Response:
    return Response(body="<!doctype html><title>pfa-serving</title>", headers={"Content-Type": "text/html"})
