"""One structured JSON line per request and per model event, on stdout, through powertools' Logger.

Lambda sends stdout lines to CloudWatch Logs as they are, so each line is one event whose fields
CloudWatch Logs Insights discovers on its own. Every line keeps the fields the service has always
written (``ts``, ``level``, ``event`` and the event's own fields); powertools adds ``message`` (the
event's name), ``timestamp``, ``service`` and, on Lambda, the X-Ray trace id.
"""

import logging
import sys
import time
import traceback
from typing import Any

from aws_lambda_powertools import Logger

SERVICE = "pfa-serving"


class _Stdout:
    """stdout as it is at each write (tests and ``chalice local`` replace ``sys.stdout``)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


# One logger for the process: powertools keys its loggers by service name.
_LOGGER = Logger(service=SERVICE, logger_handler=logging.StreamHandler(_Stdout()),  # type: ignore[arg-type]
                 level="INFO", use_rfc3339=True, json_default=str, location=None,
                 log_record_order=["ts", "level", "event"])


class RequestLog:
    """Writes request lines, model events and unexpected exceptions."""

    def request(self, **fields: Any) -> None:
        self._write("INFO", "request", fields)

    def event(self, event: str, level: str = "INFO", **fields: Any) -> None:
        self._write(level, event, fields)

    def exception(self, request_id: str, error: BaseException, **fields: Any) -> None:
        self._write("ERROR", "unhandled_exception", {
            "request_id": request_id,
            "exception": f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
            **fields,
        })

    def _write(self, level: str, event: str, fields: dict) -> None:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
        write = {"WARNING": _LOGGER.warning, "ERROR": _LOGGER.error, "DEBUG": _LOGGER.debug}.get(level, _LOGGER.info)
        write(event, extra={"ts": ts, "event": event, **fields})
