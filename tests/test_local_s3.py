"""LocalS3 (devtools/local_s3.py) against the real SeaweedFS server it runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from devtools.dev_s3 import default_data_dir, put_unless_unchanged
from devtools.local_s3 import GRPC_OFFSET, LocalS3, LocalS3Error, create_bucket, port_is_free
from devtools.local_state import state_dir
from devtools.run_local import dev_model_location


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[LocalS3]:
    """A private server, so that killing it cannot disturb the session one."""
    server = LocalS3(tmp_path / "s3")
    server.start()
    yield server
    server.stop()


def test_put_get_round_trip(s3_client: BaseClient, scratch_bucket: str) -> None:
    s3_client.put_object(Bucket=scratch_bucket, Key="a/b.txt", Body=b"hello")
    assert s3_client.get_object(Bucket=scratch_bucket, Key="a/b.txt")["Body"].read() == b"hello"


def test_a_wrong_secret_is_rejected(s3: LocalS3, s3_client: BaseClient, scratch_bucket: str) -> None:
    s3_client.put_object(Bucket=scratch_bucket, Key="k", Body=b"secret")
    intruder = s3.client(aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as error:
        intruder.get_object(Bucket=scratch_bucket, Key="k")
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_versioning_gives_distinct_version_ids(s3_client: BaseClient, scratch_bucket: str) -> None:
    first = s3_client.put_object(Bucket=scratch_bucket, Key="m", Body=b"v1")["VersionId"]
    second = s3_client.put_object(Bucket=scratch_bucket, Key="m", Body=b"v2")["VersionId"]
    assert first and second and first != second
    old = s3_client.get_object(Bucket=scratch_bucket, Key="m", VersionId=first)
    assert old["Body"].read() == b"v1"
    assert s3_client.get_object(Bucket=scratch_bucket, Key="m")["Body"].read() == b"v2"


def test_create_bucket_is_idempotent(s3_client: BaseClient, scratch_bucket: str) -> None:
    create_bucket(s3_client, scratch_bucket)
    status = s3_client.get_bucket_versioning(Bucket=scratch_bucket)["Status"]
    assert status == "Enabled"


def test_model_bucket_holds_the_sonar_model(s3_client: BaseClient, model_bucket: str, project_dir: Path) -> None:
    bucket, key = dev_model_location(project_dir)
    assert model_bucket == bucket
    stored = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert stored == (project_dir / "models" / "sonar_naive_bayes.pfa").read_bytes()


def test_after_kill_and_restart_the_same_objects_are_served(own_s3: LocalS3) -> None:
    client = own_s3.client()
    create_bucket(client, "survivor")
    client.put_object(Bucket="survivor", Key="k", Body=b"still here")
    endpoint = own_s3.endpoint_url

    own_s3.kill()
    assert not own_s3.running
    with pytest.raises(EndpointConnectionError):
        own_s3.client(config=Config(retries={"max_attempts": 1}, connect_timeout=1)).list_buckets()

    own_s3.restart()
    assert own_s3.endpoint_url == endpoint
    assert client.get_object(Bucket="survivor", Key="k")["Body"].read() == b"still here"


def test_stop_frees_the_ports_and_removes_the_socket_files(tmp_path: Path) -> None:
    with LocalS3(tmp_path / "s3") as server:
        ports = [port + offset for port in server.ports.values() for offset in (0, GRPC_OFFSET)]
        assert not any(port_is_free(port) for port in ports)
        assert server.socket_files()
    assert all(port_is_free(port) for port in ports)
    assert server.socket_files() == []
    server.stop()  # idempotent


def test_a_busy_s3_port_is_a_clear_error(s3: LocalS3, tmp_path: Path) -> None:
    with pytest.raises(LocalS3Error, match=f"S3 port {s3.ports['s3']}"):
        LocalS3(tmp_path / "s3", s3_port=s3.ports["s3"]).start()


def test_the_default_model_is_put_again_only_when_its_content_changed(s3_client: BaseClient, scratch_bucket: str,
                                                                       tmp_path: Path) -> None:
    model = tmp_path / "m.pfa"
    model.write_text('{"input": "double", "output": "double", "action": "input"}')
    first = put_unless_unchanged(s3_client, scratch_bucket, "models/m.pfa", model)
    again = put_unless_unchanged(s3_client, scratch_bucket, "models/m.pfa", model)
    model.write_text('{"input": "double", "output": "double", "action": {"+": ["input", 1]}}')
    changed = put_unless_unchanged(s3_client, scratch_bucket, "models/m.pfa", model)

    versions = s3_client.list_object_versions(Bucket=scratch_bucket, Prefix="models/m.pfa")["Versions"]
    assert len(versions) == 2
    assert first.startswith("uploaded m.pfa to s3://") and changed.startswith("uploaded m.pfa to s3://")
    assert again == (f"s3://{scratch_bucket}/models/m.pfa already holds m.pfa (version {first.split()[-1][:-1]}, "
                     f"same MD5): not uploaded again")


def test_local_state_lives_outside_the_project_where_chalice_local_does_not_watch(project_dir: Path,
                                                                                  tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert state_dir(project_dir, {"HOME": str(home)}).parent == home / ".local" / "state" / "pfa-serving"
    chosen = state_dir(project_dir, {"HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert chosen.parent == tmp_path / "xdg" / "pfa-serving" and chosen.name.startswith(project_dir.name + "-")
    # A relative XDG_STATE_HOME is to be ignored; a state folder inside the project is moved out.
    assert state_dir(project_dir, {"HOME": str(home), "XDG_STATE_HOME": "state"}).is_relative_to(home)
    inside = state_dir(project_dir, {"HOME": str(project_dir)})
    assert not inside.is_relative_to(project_dir)
    assert not default_data_dir(project_dir).resolve().is_relative_to(project_dir.resolve())
    # One folder per project checkout, the same at every run.
    assert state_dir(tmp_path / "a", {"HOME": str(home)}) != state_dir(tmp_path / "b", {"HOME": str(home)})
    assert state_dir(project_dir, {"HOME": str(home)}) == state_dir(project_dir, {"HOME": str(home)})
