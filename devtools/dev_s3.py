"""The local S3 of `make run` and `make s3`: the dev stage's bucket with the default model, found by pfactl.

Contract: `dev_s3()` starts LocalS3 with its data in the project's state folder (devtools/local_state.py, outside
the project, where `chalice local`'s reloader does not look), creates the dev stage's MODEL_BUCKET (versioned,
from .chalice/config.json), puts models/sonar_naive_bayes.pfa at MODEL_KEY and the record-input example
models/iris_decision_tree.pfa beside it (model `iris_decision_tree`), each unless the latest version there
already has the same content, and, while it runs, names the server in <project>/.local/s3.json for pfactl.
`python -m devtools.dev_s3` (`make s3`) runs only that, prints the variables with which a `chalice local`
started by hand uses it, and waits for Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from devtools.chalice_stage import API_HANDLER, function_settings, stage_environment
from devtools.local_s3 import CONFLICTING_CLIENT_ENV, LocalS3, LocalS3Error, create_bucket
from devtools.local_state import state_dir
from pfactl.s3_target import LOCAL_S3_FILE, LocalS3File, remove_local_s3_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL_FILE = Path("models") / "sonar_naive_bayes.pfa"
# A second example, served by name: a record input (the Sonar model's is a map).
EXAMPLE_FILES = (Path("models") / "iris_decision_tree.pfa",)
# Locally, a newly uploaded version should take over within a couple of seconds.
LOCAL_REFRESH_SECONDS = "2"


def dev_model_location(project_dir: Path = PROJECT_DIR) -> tuple[str, str]:
    """(MODEL_BUCKET, MODEL_KEY) of the dev stage's environment in .chalice/config.json."""
    env = stage_environment("dev", project_dir)
    return env["MODEL_BUCKET"], env["MODEL_KEY"]


def dev_memory_size(project_dir: Path = PROJECT_DIR) -> int:
    """lambda_memory_size of the dev stage's API function (MB), from .chalice/config.json."""
    return function_settings("dev", API_HANDLER, project_dir).memory_mb


def default_data_dir(project_dir: Path = PROJECT_DIR) -> Path:
    """Where `make run` and `make s3` keep the S3 objects: <state folder>/s3."""
    return state_dir(project_dir) / "s3"


def publish_local_s3(s3: LocalS3, bucket: str, path: Path) -> None:
    """Write the file through which pfactl finds this run's S3 (removed by withdraw_local_s3)."""
    LocalS3File(endpoint_url=s3.endpoint_url, access_key_id=s3.access_key, secret_access_key=s3.secret_key,
                region=s3.region, bucket=bucket, pid=os.getpid()).write(path)


def withdraw_local_s3(path: Path) -> None:
    """Remove the file written by publish_local_s3, unless a later run has replaced it."""
    remove_local_s3_file(path, os.getpid())


def put_unless_unchanged(client: BaseClient, bucket: str, key: str, path: Path) -> str:
    """Put `path` at `key` unless the latest version has the same MD5 (its ETag); say which happened.

    Without this, every start would add an identical version and push the real history out of sight.
    """
    body = path.read_bytes()
    digest = hashlib.md5(body).hexdigest()
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    else:
        if head.get("ETag", "").strip('"') == digest:
            return (f"s3://{bucket}/{key} already holds {path.name} (version {head.get('VersionId')}, "
                    f"same MD5): not uploaded again")
    version = client.put_object(Bucket=bucket, Key=key, Body=body).get("VersionId")
    return f"uploaded {path.name} to s3://{bucket}/{key} (version {version})"


@dataclass(frozen=True)
class DevS3:
    """A running dev S3: the server, the bucket and key of the default model, and what happened to it."""

    server: LocalS3
    bucket: str
    key: str
    model_note: str
    memory_size: int

    def client_environment(self) -> dict[str, str]:
        """What a `chalice local` (or any boto3 program) needs in its environment to use this S3, and the dev
        function's memory size, which Lambda gives a function: the service then keeps to the same memory
        budget (MEMORY_LIMIT_MB's default) as it does there."""
        return {**self.server.client_environment(), "MODEL_REFRESH_SECONDS": LOCAL_REFRESH_SECONDS,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size)}


@contextlib.contextmanager
def dev_s3(s3_port: int | None = None, *, data_dir: Path | None = None, publish: bool = True,
           project_dir: Path = PROJECT_DIR) -> Iterator[DevS3]:
    """Start the dev S3 (see the module docstring) and stop it, and withdraw .local/s3.json, on exit."""
    bucket, key = dev_model_location(project_dir)
    server = LocalS3(data_dir or default_data_dir(project_dir), s3_port=s3_port)
    server.start()
    local_s3_file = project_dir / LOCAL_S3_FILE
    try:
        create_bucket(server.client(), bucket, versioned=True)
        note = put_unless_unchanged(server.client(), bucket, key, project_dir / MODEL_FILE)
        folder = key.rpartition("/")[0]
        for example in EXAMPLE_FILES:
            example_key = f"{folder}/{example.name}" if folder else example.name
            note += "\n" + put_unless_unchanged(server.client(), bucket, example_key, project_dir / example)
        if publish:
            publish_local_s3(server, bucket, local_s3_file)
        yield DevS3(server=server, bucket=bucket, key=key, model_note=note, memory_size=dev_memory_size(project_dir))
    finally:
        if publish:
            withdraw_local_s3(local_s3_file)
        server.stop()


def shell_setup(env: dict[str, str]) -> str:
    """Two shell lines that give the current shell `env` and drop the AWS settings that would override it."""
    exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in env.items())
    return f"unset {' '.join(CONFLICTING_CLIENT_ENV)}\nexport {exports}"


def raise_on_stop_signals(error: type[BaseException]) -> None:
    """Make SIGINT and SIGTERM raise ``error``, so that cleanup runs in ``finally`` blocks; once stopping,
    further signals are ignored, so that they cannot interrupt the cleanup."""
    def on_signal(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise error

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def main(argv: list[str] | None = None) -> int:
    """`make s3`: run the dev S3 alone until Ctrl-C or SIGTERM, after printing how to point chalice local at it."""
    parser = argparse.ArgumentParser(prog="python -m devtools.dev_s3", description=__doc__.splitlines()[0])
    parser.add_argument("--s3-port", type=int, default=None, help="S3 port (default: a free one)")
    args = parser.parse_args(argv)

    raise_on_stop_signals(KeyboardInterrupt)  # SIGTERM ends the wait like Ctrl-C
    try:
        with dev_s3(args.s3_port) as s3:
            print(f"local S3 at {s3.server.endpoint_url}, data in {s3.server.data_dir}\n{s3.model_note}\n"
                  f"pfactl run in this folder uses it ({LOCAL_S3_FILE}). To serve the app against it by hand, "
                  f"in another shell in this folder:\n\n{shell_setup(s3.client_environment())}\n"
                  f".venv/bin/chalice local --no-autoreload --stage dev --port 8000\n\nCtrl-C stops the S3 server.",
                  flush=True)
            signal.pause()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 0
    except (LocalS3Error, OSError, ClientError) as error:
        print(f"dev_s3: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
