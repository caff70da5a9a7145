"""`make loadtest`: run one load-test profile with locust and write its report folder.

Without --host it serves the app as `make run` does (a local S3 holding the Sonar model, `chalice local` on
the dev stage; here on a free port, with S3 data under .local/loadtest-s3 so that a running `make run` is
not disturbed), runs locust headless against it, and stops everything. With --host it only runs locust
against that URL (e.g. a deployed https://<api>.execute-api.<region>.amazonaws.com/dev stage). Either way
the report goes to loadtest/reports/<UTC time>-<profile>/ and its path and summary are printed.
Exit code 0 when the run kept its timetable without failures (step profile: kept its timetable), 1 when
not, 2 when no run took place.
"""

from __future__ import annotations

import argparse
import datetime
import math
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

from devtools.local_s3 import HOST, LocalS3Error
from devtools.run_local import local_service
from loadtest.options import DEFAULT_PROFILE, PROFILES, add_arguments, forwarded, grace_seconds, plan
from loadtest.records import LOCUST_PREFIX, RUN_FILE
from loadtest.report import build
from loadtest.schedule import planned_seconds

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
REPORTS_DIR = PROJECT_DIR / "loadtest" / "reports"
LOCAL_S3_DIR = PROJECT_DIR / ".local" / "loadtest-s3"
BACKSTOP_MARGIN_SECONDS = 30  # --run-time beyond the timetable and the grace period: locust's own safety net


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def report_folder(reports_dir: Path, profile: str, now: datetime.datetime | None = None) -> Path:
    """A new folder <reports_dir>/<UTC timestamp>-<profile>[-n]."""
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    folder = reports_dir / f"{stamp}-{profile}"
    number = 1
    while folder.exists():
        number += 1
        folder = reports_dir / f"{stamp}-{profile}-{number}"
    folder.mkdir(parents=True)
    return folder


def locust_command(args: argparse.Namespace, host: str, folder: Path) -> list[str]:
    """The headless locust run: one driver user, CSV and HTML into the folder, a --run-time backstop."""
    backstop = math.ceil(planned_seconds(plan(args.profile, args)) + grace_seconds(args) + BACKSTOP_MARGIN_SECONDS)
    prefix = folder / LOCUST_PREFIX
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
            "-u", "1", "-r", "1", "--run-time", f"{backstop}s", "--csv", str(prefix), "--csv-full-history",
            "--html", f"{prefix}.html",
            "--only-summary", "--profile", args.profile, "--report-dir", str(folder), *forwarded(args)]


def run_locust(command: list[str], log_path: Path) -> int:
    """Run locust, echoing its output and keeping a copy in log_path; Ctrl-C and SIGTERM reach it as SIGINT,
    so that it stops the test and still writes its CSV and HTML. Returns its exit code."""
    print("$ " + " ".join(command), flush=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)

        def forward(signum: int, frame: FrameType | None) -> None:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
            return process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if process.poll() is None:
                process.kill()
                process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.run", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                        help="published (default), batch or step; see loadtest/README.md")
    parser.add_argument("--host", default=None,
                        help="base URL to test, e.g. https://<api>.execute-api.<region>.amazonaws.com/dev "
                             "(default: serve the app locally on a free port)")
    parser.add_argument("--port", type=int, default=None, help="port for the local service (default: a free one)")
    parser.add_argument("--reports-dir", type=Path, default=REPORTS_DIR,
                        help="where report folders go (default loadtest/reports)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        plan(args.profile, args)
    except ValueError as error:
        parser.error(str(error))
    folder = report_folder(args.reports_dir, args.profile)
    try:
        if args.host:
            code = run_locust(locust_command(args, args.host.rstrip("/"), folder), folder / "locust.log")
        else:
            port = args.port or free_port()
            with open(folder / "service.log", "wb") as service_log, \
                    local_service(port, data_dir=LOCAL_S3_DIR, publish=False, output=service_log):
                print(f"serving the app on http://{HOST}:{port} (its log: {folder / 'service.log'})", flush=True)
                code = run_locust(locust_command(args, f"http://{HOST}:{port}", folder), folder / "locust.log")
    except (RuntimeError, LocalS3Error, OSError) as error:
        print(f"loadtest: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("loadtest: interrupted before the test ran", file=sys.stderr)
        return 2
    if not (folder / RUN_FILE).exists():
        print(f"loadtest: locust exited with code {code} before the test started; see {folder / 'locust.log'}",
              file=sys.stderr)
        return 2
    report = build(folder)
    print(f"\nReport folder: {folder}\n")
    print(report.text, end="")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
