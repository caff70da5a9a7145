"""The web page served at ``GET /``: list the models, score one record, score a file as a job.

The page is plain HTML, CSS and JavaScript kept beside this module (``page.html``, ``page.css``, ``page.js``),
joined into one document once, at import: a request does no I/O, and the page needs nothing from elsewhere
(no build step, no CDN, no web fonts), so it works offline and from Lambda alike. Its script calls the API
by relative URLs, so it works under a stage path (``/dev/``) too.
"""

import base64
import hashlib
from pathlib import Path
from typing import Dict

from chalice import Response

HERE = Path(__file__).parent
CSS_MARKER = "<!-- page.css -->"
JS_MARKER = "<!-- page.js -->"


def _source_hash(text: str) -> str:
    """A CSP source expression that allows exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def build_page(html: str, css: str, js: str) -> tuple[str, Dict[str, str]]:
    """The document with its style and script inline, and the response headers that go with it."""
    for marker, name in ((CSS_MARKER, "CSS"), (JS_MARKER, "script")):
        if html.count(marker) != 1:
            raise ValueError(f"page.html must hold {marker!r} exactly once, where the {name} goes")
    if "</style" in css.lower() or "</script" in js.lower():
        raise ValueError("page.css and page.js must not close their own element")
    document = html.replace(CSS_MARKER, f"<style>\n{css}</style>").replace(JS_MARKER, f"<script>\n{js}</script>")
    # Only this document's own script and style run; the API and the upload to S3 go through connect-src.
    policy = "; ".join([
        "default-src 'none'",
        f"script-src {_source_hash(chr(10) + js)}",
        f"style-src {_source_hash(chr(10) + css)}",
        "connect-src *",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # A new deployment's page is used at once; the page is small.
        "Cache-Control": "no-cache",
    }
    return document, headers


def _read(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


DOCUMENT, HEADERS = build_page(_read("page.html"), _read("page.css"), _read("page.js"))


def page() -> Response:
    """``GET /``: the page, as read at import."""
    return Response(body=DOCUMENT, status_code=200, headers=dict(HEADERS))
