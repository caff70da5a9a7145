"""`make package`: the Lambda bundle and SAM template of a stage, built by `chalice package`, without deploying.

Contract: `python -m devtools.package --stage dev` writes `deployment.zip` and `sam.json` to
<project>/build/package/<stage>/ (replaced at each run; build/ is ignored by git), or to `--out DIR`, which must
be new or empty. `sam.json` has the fragments of devtools/stream_template.py (queues and stream) and
devtools/jobs_template.py (the jobs bucket, table and chunk queue) merged in; they are kept beside it as
`merge-template.json`. `chalice package` refuses to run without an AWS region although it calls no AWS API; when none
is configured (AWS_REGION, AWS_DEFAULT_REGION or the profile's config), it gets DEFAULT_REGION. The template does
not depend on it: CloudFormation fills in the region where it is deployed. No credentials are needed. Exit code
is chalice's; 1 with a one-line message if the output folder or the stage's settings cannot be used, or if
the packaged template lacks a resource a fragment merges into.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import botocore.session

from devtools import jobs_template, stream_template
from devtools.chalice_stage import ChaliceStageError

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE_ROOT = PROJECT_DIR / "build" / "package"
DEFAULT_REGION = "us-east-1"
STAGES = ("dev", "prod")


def configured_region() -> str | None:
    """The region boto3 would use in this process (environment, then the profile's config file), if any."""
    region = botocore.session.Session().get_config_variable("region")
    return str(region) if region else None


def packaging_environment(env: Mapping[str, str], region: str | None) -> tuple[dict[str, str], str | None]:
    """`env` with a region for chalice, and a note saying when DEFAULT_REGION was filled in (else None)."""
    if region:
        return dict(env), None
    note = (f"no AWS region configured: packaging with AWS_DEFAULT_REGION={DEFAULT_REGION} "
            "(the template does not depend on it)")
    return {**env, "AWS_DEFAULT_REGION": DEFAULT_REGION}, note


MERGE_FILE = "merge-template.json"
FRAGMENTS = (stream_template, jobs_template)


def merge_fragments(stage: str) -> dict[str, Any]:
    """The fragments' resources in one template; two fragments may not both write the same logical id."""
    resources: dict[str, Any] = {}
    for fragment in FRAGMENTS:
        for logical_id, resource in fragment.merge_template(stage)["Resources"].items():
            if logical_id in resources:
                raise ValueError(f"{fragment.__name__} and another fragment both merge into {logical_id}")
            resources[logical_id] = resource
    return {"Resources": resources}


def check_merged(template: dict[str, Any]) -> list[str]:
    """What any fragment finds wrong with the packaged template (nothing: an empty list)."""
    return [problem for fragment in FRAGMENTS for problem in fragment.check_merged(template)]


def chalice_package_command(stage: str, out_dir: Path, merge: Path | None = None) -> list[str]:
    """`chalice package` from this venv (chalice 1.34 has no `python -m chalice`), merging `merge` if given."""
    command = [str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage]
    if merge is not None:
        command += ["--merge-template", str(merge)]
    return command + [str(out_dir)]


def prepare_output(out_dir: Path, default: bool) -> None:
    """Empty the default folder; refuse a given one that already holds files rather than delete them."""
    if default:
        shutil.rmtree(out_dir, ignore_errors=True)
    elif out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"--out {out_dir} is not an empty folder; pass a new or empty one")
    out_dir.parent.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Build the stage's package and say where it is."""
    parser = argparse.ArgumentParser(prog="python -m devtools.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=STAGES, help="Chalice stage (default dev)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/package/<stage>)")
    args = parser.parse_args(argv)
    out_dir = (args.out or PACKAGE_ROOT / args.stage).resolve()
    try:
        prepare_output(out_dir, default=args.out is None)
    except (ValueError, OSError) as error:
        print(f"package: {error}", file=sys.stderr)
        return 1
    try:
        fragment = merge_fragments(args.stage)
    except (ValueError, ChaliceStageError) as error:  # SettingsError is a ValueError
        print(f"package: {error}", file=sys.stderr)
        return 1
    env, note = packaging_environment(os.environ, configured_region())
    if note:
        print(f"package: {note}", flush=True)
    # chalice package wants an empty folder: the fragment is written beside it, then kept with the package.
    merge = out_dir.parent / f".{out_dir.name}-{MERGE_FILE}"
    merge.write_text(json.dumps(fragment, indent=2) + "\n")
    try:
        command = chalice_package_command(args.stage, out_dir, merge)
        code = subprocess.run(command, cwd=PROJECT_DIR, env=env).returncode
        if code == 0:
            shutil.copyfile(merge, out_dir / MERGE_FILE)
    finally:
        merge.unlink(missing_ok=True)
    if code == 0:
        problems = check_merged(json.loads((out_dir / "sam.json").read_text()))
        if problems:
            print(f"package: {'; '.join(problems)}", file=sys.stderr)
            return 1
        print(f"package: stage {args.stage} in {out_dir} (deployment.zip, sam.json, and {MERGE_FILE}, "
              f"merged into sam.json)", flush=True)
    else:
        print(f"package: chalice package exited with code {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
