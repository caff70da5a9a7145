"""Joining a job's parts against the local S3: small parts are read and sent together, large ones copied by
S3 (UploadPartCopy), and the output is the parts' bytes in order whatever their sizes."""

from __future__ import annotations

import pytest

from chalicelib.jobs.files import MIN_PART, JobFiles, Segment


@pytest.fixture
def files(s3_client, scratch_bucket):
    return JobFiles(s3_client, scratch_bucket, max_bytes=1000, upload_seconds=60, link_seconds=60)


@pytest.mark.parametrize("sizes", [
    [0, 10, 0, 20],
    [MIN_PART + 3, 5],
    [3, MIN_PART + 7, 11, MIN_PART - 1, 2 * MIN_PART + 1, 0],
])
def test_join_writes_the_segments_in_order(files, s3_client, scratch_bucket, sizes):
    segments, expected = [], b""
    for index, size in enumerate(sizes):
        body = bytes([65 + index]) * size
        s3_client.put_object(Bucket=scratch_bucket, Key=f"parts/{index}", Body=body)
        segments.append(Segment(f"parts/{index}", size))
        expected += body
    assert files.join("out.jsonl", segments, "out.jsonl") == len(expected)
    answer = s3_client.get_object(Bucket=scratch_bucket, Key="out.jsonl")
    assert answer["Body"].read() == expected
    assert answer["ContentType"] == "application/x-ndjson"
    assert s3_client.list_multipart_uploads(Bucket=scratch_bucket).get("Uploads", []) == []


def test_join_of_nothing_is_an_empty_object(files, s3_client, scratch_bucket):
    assert files.join("empty.jsonl", [], "empty.jsonl") == 0
    assert s3_client.get_object(Bucket=scratch_bucket, Key="empty.jsonl")["Body"].read() == b""
