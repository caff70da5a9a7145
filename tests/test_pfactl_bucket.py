"""pfactl's bucket commands (upload, list, versions, rollback, delete) against the real local S3, and how
pfactl finds the local S3 of `make run` through .local/s3.json."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from devtools.run_local import publish_local_s3, withdraw_local_s3
from pfactl.cli import main
from pfactl.model_bucket import ModelBucket
from pfactl.s3_target import LOCAL_S3_FILE, resolve_target

ROOT = Path(__file__).resolve().parent.parent
SONAR = ROOT / "models" / "sonar_naive_bayes.pfa"
PFACTL = Path(sys.executable).parent / "pfactl"
CLIENT_ENV = ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
              "AWS_REGION", "AWS_PROFILE", "MODEL_BUCKET", "MODELS_PREFIX")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def toy(tmp_path: Path, add: int, broken: bool = False) -> Path:
    path = tmp_path / f"toy{add}.pfa"
    output = "string" if broken else "double"
    path.write_text(json.dumps({"name": "toy", "input": "double", "output": output,
                                "action": [{"+": ["input", add]}]}))
    return path


def upload(capsys, bucket: str, path: Path, name: str = "toy") -> str:
    code, out, err = run(capsys, "upload", path, "--name", name, "--bucket", bucket)
    assert code == 0, err
    assert out.startswith(f"uploaded {path} to s3://{bucket}/models/{name}.pfa: version ")
    return out.split()[-1]


def latest_document(s3_client, bucket: str, name: str = "toy") -> dict:
    return json.loads(s3_client.get_object(Bucket=bucket, Key=f"models/{name}.pfa")["Body"].read())


VERSION_ROW = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC  (\S+) +(\S+) *(.*)")


def versions_table(out: str) -> list[tuple[str, str, str, str]]:
    """`pfactl versions` rows as (time, version id, size, note), below its title and header."""
    title, header, *rows = out.splitlines()
    assert title.endswith(", newest first:") and header.split()[:3] == ["LAST", "MODIFIED", "VERSION"]
    return [VERSION_ROW.fullmatch(row).groups() for row in rows]


def version_ids(out: str) -> list[str]:
    return [row[1] for row in versions_table(out)]


def test_upload_list_versions(capsys, s3_client, scratch_bucket, tmp_path):
    first = upload(capsys, scratch_bucket, toy(tmp_path, 1))
    second = upload(capsys, scratch_bucket, toy(tmp_path, 2))
    upload(capsys, scratch_bucket, SONAR, name="sonar")
    assert first != second
    assert latest_document(s3_client, scratch_bucket)["action"] == [{"+": ["input", 2]}]
    s3_client.put_object(Bucket=scratch_bucket, Key="models/nested/x.pfa", Body=b"{}")  # not a model name

    code, out, _ = run(capsys, "list", "--bucket", scratch_bucket)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "VERSION", "LAST", "MODIFIED", "SIZE"]
    assert [row.split()[:2] for row in rows] == [["sonar", rows[0].split()[1]], ["toy", second]]
    assert rows[0].split()[-1] == str(SONAR.stat().st_size)

    code, out, _ = run(capsys, "versions", "toy", "--bucket", scratch_bucket)
    assert code == 0
    assert version_ids(out) == [second, first]
    assert out.splitlines()[0] == f"2 versions of toy (s3://{scratch_bucket}/models/toy.pfa), newest first:"
    assert [row[3] for row in versions_table(out)] == ["latest", ""]
    times = [row[0] for row in versions_table(out)]
    assert times == sorted(times, reverse=True)


class ListedVersions:
    """An S3 client that can only list object versions, in the pages and order given (a server may list
    them in any order; version ids say nothing about age)."""

    def __init__(self, pages: list[dict]) -> None:
        self.pages = pages

    def get_paginator(self, operation: str) -> "ListedVersions":
        assert operation == "list_object_versions"
        return self

    def paginate(self, Bucket: str, Prefix: str) -> list[dict]:
        return self.pages


def test_versions_are_ordered_by_time_whatever_the_listing_order():
    def at(second: int) -> datetime:
        return datetime(2026, 1, 2, 3, 4, second, tzinfo=timezone.utc)

    def entry(version: str, second: int, latest: bool = False) -> dict:
        return {"Key": "models/toy.pfa", "VersionId": version, "LastModified": at(second), "IsLatest": latest,
                "Size": 10}

    pages = [{"Versions": [entry("a-oldest", 1), entry("b-newest-not-latest", 9)],
              "DeleteMarkers": [{**entry("m-marker", 5), "Size": None}]},
             {"Versions": [entry("c-middle", 3), entry("d-latest", 9, latest=True),
                           {**entry("x-other-key", 20), "Key": "models/toy2.pfa"}]}]
    history = ModelBucket(ListedVersions(pages), "bucket", "models/").versions("toy")
    assert [version.version_id for version in history] == [
        "d-latest", "b-newest-not-latest", "m-marker", "c-middle", "a-oldest"]
    assert history[0].is_latest and history[2].is_delete_marker


def test_upload_converts_yaml_to_json(capsys, s3_client, scratch_bucket, tmp_path):
    source = tmp_path / "toy.yaml"
    source.write_text("input: double\noutput: double\naction:\n  - {\"+\": [input, 7]}\n")
    upload(capsys, scratch_bucket, source)
    assert latest_document(s3_client, scratch_bucket) == {"input": "double", "output": "double",
                                                          "action": [{"+": ["input", 7]}]}


def test_a_broken_document_never_reaches_s3(capsys, s3_client, scratch_bucket, tmp_path):
    code, out, err = run(capsys, "upload", toy(tmp_path, 1, broken=True), "--name", "toy", "--bucket", scratch_bucket)
    assert code == 1 and out == ""
    assert "would not serve: the PFA document does not compile" in one_line(err)
    listing = s3_client.list_object_versions(Bucket=scratch_bucket)
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")


def test_upload_turns_versioning_on_and_names_a_missing_bucket(capsys, s3_client, tmp_path):
    plain = f"plain-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=plain)
    code, out, err = run(capsys, "upload", toy(tmp_path, 1), "--name", "toy", "--bucket", plain)
    assert code == 0 and "version " in out
    assert one_line(err) == f"pfactl: turned on versioning of bucket {plain!r}"
    assert s3_client.get_bucket_versioning(Bucket=plain)["Status"] == "Enabled"
    code, _, err = run(capsys, "upload", toy(tmp_path, 1), "--name", "toy", "--bucket", "no-such-bucket-here")
    assert code == 1 and "'no-such-bucket-here'" in one_line(err) and "does not exist" in err


def test_rollback_default_and_to_a_version(capsys, s3_client, scratch_bucket, tmp_path):
    v1, v2, v3 = (upload(capsys, scratch_bucket, toy(tmp_path, add)) for add in (1, 2, 3))

    code, out, err = run(capsys, "rollback", "toy", "--bucket", scratch_bucket)
    assert code == 0, err
    new = out.split("now ")[1].split()[0]
    assert re.fullmatch(f"rolled back toy: latest was {v3}, now {new} \\(a copy of version {v2}, of "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", out.strip())
    assert latest_document(s3_client, scratch_bucket)["action"] == [{"+": ["input", 2]}]

    code, out, err = run(capsys, "rollback", "toy", "--to", v1, "--bucket", scratch_bucket)
    assert code == 0, err
    assert f"latest was {new}, now " in out and f"(a copy of version {v1}, of " in out
    assert latest_document(s3_client, scratch_bucket)["action"] == [{"+": ["input", 1]}]

    code, out, _ = run(capsys, "versions", "toy", "--bucket", scratch_bucket)
    history = version_ids(out)
    assert len(history) == 5 and history[1:] == [new, v3, v2, v1]

    code, out, _ = run(capsys, "rollback", "toy", "--to", history[0], "--bucket", scratch_bucket)
    assert code == 0 and "already is the latest" in out


def test_rollback_refuses_unknown_and_unservable_versions(capsys, s3_client, scratch_bucket, tmp_path):
    code, _, err = run(capsys, "rollback", "toy", "--bucket", scratch_bucket)
    assert code == 1 and "no model named 'toy'" in one_line(err)
    v1 = upload(capsys, scratch_bucket, toy(tmp_path, 1))
    code, _, err = run(capsys, "rollback", "toy", "--bucket", scratch_bucket)
    assert code == 1 and "no earlier version" in one_line(err)
    code, _, err = run(capsys, "rollback", "toy", "--to", "no-such-version", "--bucket", scratch_bucket)
    assert code == 1
    assert one_line(err) == "pfactl: model 'toy' has no version 'no-such-version'; see `pfactl versions toy`"
    # A broken version put there by other means is not made the latest.
    broken = s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=b'{"input": "double"}')
    upload(capsys, scratch_bucket, toy(tmp_path, 2))
    code, _, err = run(capsys, "rollback", "toy", "--to", broken["VersionId"], "--bucket", scratch_bucket)
    assert code == 1 and f"not rolled back: version {broken['VersionId']} of toy would not serve" in one_line(err)
    assert latest_document(s3_client, scratch_bucket)["action"] == [{"+": ["input", 2]}]
    assert v1


def test_delete_needs_confirmation_and_leaves_a_delete_marker(capsys, s3_client, scratch_bucket, tmp_path):
    upload(capsys, scratch_bucket, toy(tmp_path, 1))
    version = upload(capsys, scratch_bucket, toy(tmp_path, 2))
    code, _, err = run(capsys, "delete", "toy", "--bucket", scratch_bucket)
    assert code == 1 and "pass --yes" in one_line(err)
    assert latest_document(s3_client, scratch_bucket)

    code, out, err = run(capsys, "delete", "toy", "--yes", "--bucket", scratch_bucket)
    assert code == 0, err
    assert out.startswith("deleted toy: added delete marker ") and "2 version(s) are kept" in out
    assert run(capsys, "list", "--bucket", scratch_bucket)[1].startswith("no models in s3://")
    code, out, _ = run(capsys, "versions", "toy", "--bucket", scratch_bucket)
    assert versions_table(out)[0][2:] == ("-", "delete marker, latest") and version_ids(out)[1] == version
    code, _, err = run(capsys, "delete", "toy", "--yes", "--bucket", scratch_bucket)
    assert code == 1 and "already deleted" in one_line(err)

    code, out, _ = run(capsys, "rollback", "toy", "--bucket", scratch_bucket)
    assert code == 0 and "(a delete marker)" in out and f"(a copy of version {version}, of " in out
    assert latest_document(s3_client, scratch_bucket)["action"] == [{"+": ["input", 2]}]
    code, _, err = run(capsys, "delete", "nothing-here", "--yes", "--bucket", scratch_bucket)
    assert code == 1 and "no model named 'nothing-here'" in one_line(err)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "a" * 65, "_x", "x.pfa"])
@pytest.mark.parametrize("command", [["upload", str(SONAR), "--name"], ["versions"], ["rollback"],
                                     ["delete", "--yes"]])
def test_invalid_names_are_refused(capsys, s3_client, scratch_bucket, command, name):
    code, out, err = run(capsys, *command, name, "--bucket", scratch_bucket)
    assert code == 1 and out == ""
    assert one_line(err).startswith(f"pfactl: invalid model name {name!r}: expected 1-64 letters")
    assert not s3_client.list_object_versions(Bucket=scratch_bucket).get("Versions")


def test_the_installed_script_talks_to_s3(s3_client, scratch_bucket):
    done = subprocess.run([str(PFACTL), "upload", str(SONAR), "--name", "sonar", "--bucket", scratch_bucket],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(PFACTL), "list", "--bucket", scratch_bucket], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.splitlines()[1].startswith("sonar ")


# ----- finding the local S3 of `make run` ---------------------------------------------------------


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    """No S3 settings at all, in an empty folder."""
    for name in CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_pfactl_finds_the_local_s3_of_make_run(capsys, s3, s3_client, scratch_bucket, bare_env, tmp_path,
                                               monkeypatch):
    state = bare_env / LOCAL_S3_FILE
    publish_local_s3(s3, scratch_bucket, state)
    assert json.loads(state.read_text())["endpoint_url"] == s3.endpoint_url
    assert oct(state.stat().st_mode & 0o777) == "0o600"

    code, out, err = run(capsys, "upload", toy(tmp_path, 5), "--name", "toy")
    assert code == 0, err
    assert out.startswith(f"uploaded {tmp_path / 'toy5.pfa'} to s3://{scratch_bucket}/models/toy.pfa: version ")
    version = out.split()[-1]
    assert latest_document(s3_client, scratch_bucket)["action"] == [{"+": ["input", 5]}]
    (bare_env / "sub" / "dir").mkdir(parents=True)
    monkeypatch.chdir(bare_env / "sub" / "dir")
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.splitlines()[1].split()[:2] == ["toy", version]

    withdraw_local_s3(state)
    assert not state.exists()
    code, _, err = run(capsys, "list")
    assert code == 1
    assert one_line(err) == ("pfactl: no S3 to talk to: run `make run` in the project folder (pfactl then uses its "
                             "local S3), or set MODEL_BUCKET (or pass --bucket) and AWS credentials")


def test_environment_settings_win_over_the_local_file(capsys, s3, s3_client, scratch_bucket, bare_env, tmp_path,
                                                      monkeypatch):
    other = f"other-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=other)
    publish_local_s3(s3, other, bare_env / LOCAL_S3_FILE)
    for name, value in s3.client_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODEL_BUCKET", scratch_bucket)
    monkeypatch.setenv("MODELS_PREFIX", "team-a/")
    upload_out = run(capsys, "upload", toy(tmp_path, 1), "--name", "toy")[1]
    assert f"s3://{scratch_bucket}/team-a/toy.pfa" in upload_out
    assert not s3_client.list_object_versions(Bucket=other).get("Versions")


def test_without_a_bucket_in_the_file_the_dev_stage_bucket_is_used(s3, bare_env):
    (bare_env / ".chalice").mkdir()
    (bare_env / ".chalice" / "config.json").write_text(json.dumps(
        {"stages": {"dev": {"environment_variables": {"MODEL_BUCKET": "the-dev-bucket"}}}}))
    publish_local_s3(s3, "", bare_env / LOCAL_S3_FILE)
    target = resolve_target(None, {}, bare_env)
    assert (target.bucket, target.prefix, target.endpoint) == ("the-dev-bucket", "models/", s3.endpoint_url)
    assert resolve_target("mine", {}, bare_env).bucket == "mine"


def test_a_stale_local_file_is_not_used(capsys, s3, scratch_bucket, bare_env):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    publish_local_s3(s3, scratch_bucket, bare_env / LOCAL_S3_FILE)
    state = json.loads((bare_env / LOCAL_S3_FILE).read_text())
    (bare_env / LOCAL_S3_FILE).write_text(json.dumps({**state, "pid": finished.pid}))
    code, _, err = run(capsys, "list")
    assert code == 1
    assert "was left by a `make run` that no longer runs" in one_line(err) and "run `make run`" in err
    withdraw_local_s3(bare_env / LOCAL_S3_FILE)  # not this process's file: kept
    assert (bare_env / LOCAL_S3_FILE).exists()


@pytest.mark.parametrize("content, message", [
    ("", "is empty; expected the local S3 settings `make run` writes"),
    ("{", "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    ('{"endpoint_url": "http://127.0.0.1:1"}', "lacks access_key_id, secret_access_key, region"),
])
def test_a_damaged_local_file_is_named_with_what_it_should_hold(capsys, bare_env, content, message):
    (bare_env / LOCAL_S3_FILE).parent.mkdir(parents=True)
    (bare_env / LOCAL_S3_FILE).write_text(content)
    code, _, err = run(capsys, "list")
    assert code == 1
    line = one_line(err)
    assert line.startswith(f"pfactl: {bare_env / LOCAL_S3_FILE} {message}") and "Error" not in line
    assert line.endswith("restart `make run` or delete the file")


def test_rollback_refuses_an_empty_version_in_the_bucket(capsys, s3_client, scratch_bucket, tmp_path):
    upload(capsys, scratch_bucket, toy(tmp_path, 1))
    empty = s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=b"")["VersionId"]
    upload(capsys, scratch_bucket, toy(tmp_path, 2))
    code, _, err = run(capsys, "rollback", "toy", "--to", empty, "--bucket", scratch_bucket)
    assert code == 1
    assert one_line(err) == (f"pfactl: not rolled back: version {empty} of toy would not serve: it is empty; "
                             f"expected a PFA document (JSON, or YAML when named *.yaml or *.yml)")
