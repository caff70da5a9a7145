"""The commands that work on the model bucket: upload, list, versions, rollback, delete."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Sequence

from chalicelib.errors import InvalidModelName
from chalicelib.model_names import check_model_name, model_key

from .errors import PfactlError
from .input_files import read_document
from .inspect import NotServable, as_json_document, load_model
from .model_bucket import ModelBucket, Version
from .s3_target import S3Target, resolve_target


def run_upload(args: argparse.Namespace) -> int:
    name = _name(args.name)
    target = _target(args)
    path = Path(args.model)
    document = as_json_document(path, read_document(path))
    # Exactly what the service will do with the stored object: a JSON document under a .pfa key.
    load_model(path, data=document, key=model_key(target.prefix, name))
    bucket = _bucket(target)
    if bucket.ensure_versioning():
        print(f"pfactl: turned on versioning of bucket {bucket.bucket!r}", file=sys.stderr)
    version_id = bucket.upload(name, document)
    print(f"uploaded {path} to {bucket.location(name)}: version {version_id}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    target = _target(args)
    models = _bucket(target).list_models()
    if not models:
        print(f"no models in s3://{target.bucket}/{target.prefix}")
        return 0
    rows = [[model.name, model.version_id, _when(model.last_modified), str(model.size)] for model in models]
    print("\n".join(_table(["NAME", "VERSION", "LAST MODIFIED", "SIZE"], rows)))
    return 0


def run_versions(args: argparse.Namespace) -> int:
    name = _name(args.name)
    bucket = _bucket(_target(args))
    history = bucket.versions(name)
    rows = [[_when(version.last_modified), version.version_id,
             "-" if version.size is None else str(version.size), _note(version)] for version in history]
    print(f"{_count(len(history), 'version')} of {name} ({bucket.location(name)}), newest first:")
    print("\n".join(_table(["LAST MODIFIED", "VERSION", "SIZE", ""], rows)))
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    name = _name(args.name)
    target = _target(args)
    bucket = _bucket(target)
    key = model_key(target.prefix, name)

    def servable(version_id: str, document: bytes) -> None:
        try:
            load_model(Path(key), data=document, key=key)
        except NotServable as error:
            raise PfactlError(f"not rolled back: version {version_id} of {name} would not serve: "
                              f"{error.reason}") from None

    done = bucket.rollback(name, to=args.to, check=servable)
    if done.new_version_id is None:
        print(f"version {done.restored.version_id} already is the latest of {name}; nothing changed")
        return 0
    previous = done.previous.version_id + (" (a delete marker)" if done.previous.is_delete_marker else "")
    print(f"rolled back {name}: latest was {previous}, now {done.new_version_id} "
          f"(a copy of version {done.restored.version_id}, of {_when(done.restored.last_modified)})")
    return 0


def run_delete(args: argparse.Namespace) -> int:
    name = _name(args.name)
    bucket = _bucket(_target(args))
    if not args.yes:
        if not sys.stdin.isatty():
            raise PfactlError(f"not deleting {name} without confirmation: pass --yes")
        answer = input(f"Delete model {name} ({bucket.location(name)})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return 1
    marker, kept = bucket.delete(name)
    if marker is None:
        print(f"deleted {name} for good: bucket {bucket.bucket!r} is not versioned")
    else:
        print(f"deleted {name}: added delete marker {marker}; its {kept} version(s) are kept "
              f"(`pfactl rollback {name}` restores the last one)")
    return 0


def _name(raw: str) -> str:
    try:
        return check_model_name(raw)
    except InvalidModelName as error:
        raise PfactlError(error.message) from None


def _target(args: argparse.Namespace) -> S3Target:
    return resolve_target(args.bucket, os.environ, Path.cwd())


def _bucket(target: S3Target) -> ModelBucket:
    return ModelBucket(target.client(), target.bucket, target.prefix, target.endpoint)


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _note(version: Version) -> str:
    notes = (["delete marker"] if version.is_delete_marker else []) + (["latest"] if version.is_latest else [])
    return ", ".join(notes)


def _table(header: Sequence[str], rows: List[List[str]]) -> List[str]:
    widths = [max(len(row[column]) for row in [list(header), *rows]) for column in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [list(header), *rows]]
