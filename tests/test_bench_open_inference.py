"""`python -m benchmarks.open_inference` in small: the quick plan, in this process, on the session's local S3.
The answers check and the report's shape are checked, never its timings."""

import base64
import json
import struct
from pathlib import Path

from benchmarks import open_inference as oi
from benchmarks.examples import sonar_records
from devtools.local_s3 import LocalS3


def test_the_quick_open_inference_bench_checks_answers_and_reports_every_size(s3: LocalS3, tmp_path: Path) -> None:
    results = oi.run(oi.QUICK, quick=True, server=s3)
    json_path, md_path = oi.write_results(results, tmp_path)
    assert (json_path.name, md_path.name) == (oi.OPEN_INFERENCE_JSON, oi.OPEN_INFERENCE_MD)
    saved = json.loads(json_path.read_text())
    assert saved["quick"] is True and saved["schema"] == oi.SCHEMA and saved["model"] == oi.MODEL

    check = saved["check"]
    sizes = sorted(oi.QUICK.samples)
    assert check["passed"] and len(check["stages"]) == len(sizes) * len(oi.VARIANTS)
    for entry in check["stages"].values():
        assert entry["equal_baseline"] == entry["equal_r"] == entry["answered"] == entry["rows"]

    assert [row["rows"] for row in saved["sizes"]] == sizes == [1, 100, 208]
    for row in saved["sizes"]:
        count, variants = row["rows"], row["variants"]
        assert set(variants) == set(oi.VARIANTS)
        assert variants[oi.BATCH]["ratio_to_batch"] == 1
        for variant, entry in variants.items():
            assert entry["samples"] == oi.QUICK.samples[count]
            assert entry["ms_per_call"] > 0 and entry["rows_per_s"] > 0 and entry["body_bytes"] > 0
            if variant != oi.BATCH:
                assert entry["paired_ratio_to_batch"]["samples"] == oi.QUICK.samples[count]
        # 60 FP64 tensors of `count` values after the JSON part; the event carries that body base64-encoded.
        body, header_length = oi.Requests(sonar_records()).v2_binary_body(0, count)
        assert variants[oi.V2_BINARY]["body_bytes"] == len(body) == header_length + 60 * 8 * count
    assert set(saved["stages"]) == {oi.stage_name(v, n) for v in oi.VARIANTS for n in sizes}

    text = md_path.read_text()
    assert "**Answers** (passed)" in text and text.count("| V2, binary tensors |") == len(sizes)


def test_the_binary_request_is_the_json_one_as_raw_fp64() -> None:
    requests = oi.Requests(sonar_records())
    as_json = json.loads(requests.v2_json_body(5, 3))
    body, header_length = requests.v2_binary_body(5, 3)
    header = json.loads(body[:header_length])
    assert [t["name"] for t in header["inputs"]] == [t["name"] for t in as_json["inputs"]] == requests.inputs
    event = json.loads(requests.event(oi.V2_BINARY, 5, 3))
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == body
    assert event["headers"]["Content-Type"] == "application/octet-stream"
    assert event["headers"]["Inference-Header-Content-Length"] == str(header_length)
    raw = memoryview(body)[header_length:]
    for position, tensor in enumerate(as_json["inputs"]):
        assert header["inputs"][position]["parameters"]["binary_data_size"] == 24
        assert list(struct.unpack("<3d", raw[position * 24:(position + 1) * 24])) == tensor["data"]
