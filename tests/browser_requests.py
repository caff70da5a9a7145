"""What a browser page sends to S3 for a job, over real HTTP: a CORS preflight, the form upload of a presigned POST
(fields first, the file last, as the page does) and a GET of a presigned link, each with the page's Origin."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Dict, Mapping, Optional, Tuple

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
Answer = Tuple[int, Dict[str, str], bytes]


def _send(request: urllib.request.Request) -> Answer:
    try:
        with _NO_PROXY.open(request, timeout=30) as response:
            return response.status, {name.lower(): value for name, value in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {name.lower(): value for name, value in error.headers.items()}, error.read()


def preflight(url: str, origin: str, method: str, headers: str = "") -> Answer:
    """The OPTIONS request a browser sends before a cross-origin request it may not send unasked."""
    request = urllib.request.Request(url, method="OPTIONS",
                                     headers={"Origin": origin, "Access-Control-Request-Method": method})
    if headers:
        request.add_header("Access-Control-Request-Headers", headers)
    return _send(request)


def form_post(url: str, fields: Mapping[str, str], content: bytes, *, file_field: str = "file",
              filename: str = "input.csv", content_type: str = "text/csv", origin: Optional[str] = None) -> Answer:
    """A multipart/form-data POST of `fields`, then the file `content` as `file_field` (S3 wants it last)."""
    boundary = f"----form-{uuid.uuid4().hex}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(url, data=b"".join(parts), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    if origin:
        request.add_header("Origin", origin)
    return _send(request)


def get(url: str, origin: Optional[str] = None) -> Answer:
    request = urllib.request.Request(url)
    if origin:
        request.add_header("Origin", origin)
    return _send(request)
