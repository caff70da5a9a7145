"""One structured JSON line per request, written to stdout.

Lambda sends stdout lines to CloudWatch Logs as they are, so each line is one
event whose fields CloudWatch Logs Insights discovers on its own.
"""

import json
import sys
import time
import traceback
from typing import Any, Optional, TextIO


class RequestLog:
    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self._stream = stream

    def request(self, **fields: Any) -> None:
        self._write({"level": "INFO", "event": "request", **fields})

    def event(self, event: str, level: str = "INFO", **fields: Any) -> None:
        self._write({"level": level, "event": event, **fields})

    def exception(self, request_id: str, error: BaseException, **fields: Any) -> None:
        self._write({
            "level": "ERROR",
            "event": "unhandled_exception",
            "request_id": request_id,
            "exception": f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
            **fields,
        })

    def _write(self, record: dict) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z", **record}
        stream = self._stream or sys.stdout
        stream.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        stream.flush()
