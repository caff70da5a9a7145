"""Reading model documents from a real local S3."""

import boto3
import pytest
from botocore.config import Config

from chalicelib.errors import ModelLoadError
from chalicelib.model_store import DocumentMissing, ModelStore


@pytest.fixture
def store(s3_client, scratch_bucket):
    return ModelStore(s3_client, scratch_bucket, max_bytes=1000)


def test_fetch_gives_the_bytes_and_the_version(store, s3_client, scratch_bucket):
    put = s3_client.put_object(Bucket=scratch_bucket, Key="models/a.pfa", Body=b"{}")
    stored = store.fetch("models/a.pfa")
    assert (stored.data, stored.version, stored.location) == (b"{}", put["VersionId"], f"s3://{scratch_bucket}/models/a.pfa")
    assert store.fetch("models/a.pfa", unless_etag=stored.etag) is None, "unchanged: a conditional GET answers 304"


def test_a_missing_document_a_missing_bucket_and_a_large_document_say_so(store, s3_client, scratch_bucket):
    with pytest.raises(DocumentMissing, match="does not exist"):
        store.fetch("models/nothing.pfa")
    with pytest.raises(ModelLoadError, match="bucket 'no-such-bucket-here' does not exist"):
        ModelStore(s3_client, "no-such-bucket-here", 1000).fetch("models/a.pfa")
    s3_client.put_object(Bucket=scratch_bucket, Key="models/big.pfa", Body=b" " * 1001)
    with pytest.raises(ModelLoadError, match="over MAX_MODEL_BYTES"):
        store.fetch("models/big.pfa")


def test_an_unreachable_s3_is_a_load_error():
    client = boto3.client("s3", endpoint_url="http://127.0.0.1:9",
                          config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    with pytest.raises(ModelLoadError, match="unreachable"):
        ModelStore(client, "bucket", 1000).fetch("models/a.pfa")


def test_a_listing_says_when_it_is_cut_short(s3_client, scratch_bucket):
    for name in ("a", "b", "c"):
        s3_client.put_object(Bucket=scratch_bucket, Key=f"models/{name}.pfa", Body=b"{}")
    items, truncated = ModelStore(s3_client, scratch_bucket, 1000, list_limit=2).list("models/")
    assert [item["key"] for item in items] == ["models/a.pfa", "models/b.pfa"] and truncated
    assert ModelStore(s3_client, scratch_bucket, 1000).list("models/")[1] is False
