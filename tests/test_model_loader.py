"""The loader's lifecycle, with a small in-memory store and a hand-driven clock."""

from pathlib import Path
from typing import Dict, List, Optional

import pytest

from chalicelib.errors import ModelNotFound, ModelNotReady
from chalicelib.model_loader import ModelLoader
from chalicelib.model_store import DocumentMissing, StoredDocument

TOY = b'{"name": "toy", "input": "double", "output": "double", "action": [{"+": ["input", 100]}]}'
TOY_200 = TOY.replace(b"100", b"200")
SONAR = (Path(__file__).parent.parent / "models" / "sonar_naive_bayes.pfa").read_bytes()


class DictStore:
    """A working store over a dict; a missing key fails as S3's does."""

    bucket = "models"

    def __init__(self) -> None:
        self.objects: Dict[str, bytes] = {}
        self.fetches = 0

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def fetch(self, key: str, unless_etag: Optional[str] = None,
              version_id: Optional[str] = None) -> Optional[StoredDocument]:
        assert version_id is None  # an unversioned bucket
        self.fetches += 1
        if key not in self.objects:
            raise DocumentMissing(f"the model document s3://models/{key} does not exist")
        data = self.objects[key]
        etag = f"etag-{hash(data) & 0xFFFF}"
        return None if etag == unless_etag else StoredDocument(self.bucket, key, data, etag=etag, version_id=None)


    def earlier_versions(self, key: str, limit: int) -> List[str]:
        return []


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store():
    return DictStore()


@pytest.fixture
def clock():
    return Clock()


def loader_for(store, clock, key="toy.pfa", **kwargs):
    return ModelLoader(store, key, "toy", clock=clock, retry_min_seconds=1, retry_max_seconds=4,
                       background=lambda task: task(), **kwargs)


def test_loads_once_and_keeps_the_model(store, clock):
    store.objects["toy.pfa"] = TOY
    loader = loader_for(store, clock)
    model = loader.get()
    assert loader.get() is model and store.fetches == 1
    assert model.predict(3.14) == pytest.approx(103.14)
    assert (model.name, model.version, model.location) == ("toy", model.etag, "s3://models/toy.pfa")
    assert model.compile_ms > 0 and model.loaded_at.endswith("Z")
    assert loader.status()["ready"] is True


def test_a_missing_document_is_not_ready_with_the_reason_and_backs_off(store, clock):
    loader = loader_for(store, clock)
    with pytest.raises(ModelNotReady, match="s3://models/toy.pfa does not exist") as first:
        loader.get()
    assert first.value.status == 503 and first.value.headers["Retry-After"] == "1"
    with pytest.raises(ModelNotReady):
        loader.get()
    assert store.fetches == 1, "no fetch before the backoff delay has passed"
    status = loader.status()
    assert status["ready"] is False and "does not exist" in status["reason"]
    assert status["failed_attempts"] == 1

    for expected_delay in (2, 4, 4):  # doubles, up to the maximum
        clock.now += 10
        with pytest.raises(ModelNotReady) as again:
            loader.get()
        assert again.value.headers["Retry-After"] == str(expected_delay)


def test_recovers_on_its_own_when_the_document_appears(store, clock):
    loader = loader_for(store, clock)
    with pytest.raises(ModelNotReady):
        loader.get()
    store.objects["toy.pfa"] = TOY
    with pytest.raises(ModelNotReady):
        loader.get()
    clock.now += 1
    assert loader.get().predict(0.0) == 100.0
    assert loader.status()["ready"] is True


@pytest.mark.parametrize("data, reason", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a PFA object"),
    (b'{"input": "double", "output": "double", "action": [{"nosuch.fcn": ["input"]}]}', "does not compile"),
    (b'{"input": "nosuchtype", "output": "double", "action": ["input"]}', "PFA document"),
    (b'{"input": "double", "output": "double"}', "PFA document"),
    (b'{"input": "double", "output": "double", "method": "emit", "action": [{"emit": ["input"]}]}',
     "method 'emit' is not supported"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_a_broken_document_is_not_ready_with_a_one_line_reason(store, clock, data, reason):
    store.objects["toy.pfa"] = data
    with pytest.raises(ModelNotReady, match=reason) as caught:
        loader_for(store, clock).get()
    assert "\n" not in caught.value.message


def test_yaml_documents_are_read_by_their_suffix(store, clock):
    store.objects["toy.yaml"] = b"name: toy\ninput: double\noutput: double\naction:\n  - {+: [input, 1]}\n"
    assert loader_for(store, clock, key="toy.yaml").get().predict(1) == 2.0


def test_the_sonar_document_declares_its_features_and_example(store, clock):
    store.objects["models/sonar_naive_bayes.pfa"] = SONAR
    model = loader_for(store, clock, key="models/sonar_naive_bayes.pfa").get()
    assert model.served.input_keys == [f"V{i}" for i in range(1, 61)]
    assert model.served.example["V1"] == 0.02 and model.predict(model.served.example) == "R"
    assert model.describe()["input_schema"] == {"type": "map", "values": ["null", "string", "double"]}


def test_a_new_version_is_swapped_in_after_the_refresh_interval(store, clock):
    store.objects["toy.pfa"] = TOY
    loader = loader_for(store, clock, refresh_seconds=30)
    old = loader.get()
    store.objects["toy.pfa"] = TOY_200
    assert loader.get() is old, "not before the interval"
    clock.now += 30
    assert loader.get() is old, "the request that notices the change is still served by the old version"
    new = loader.get()
    assert new.predict(1.0) == 201.0 and new.version != old.version
    fetches = store.fetches
    clock.now += 30
    loader.get()
    assert loader.get() is new and store.fetches == fetches + 1, "an unchanged document is one conditional GET"


def test_a_broken_new_version_keeps_the_last_good_model_serving_and_says_why(store, clock):
    store.objects["toy.pfa"] = TOY
    loader = loader_for(store, clock, refresh_seconds=30)
    good = loader.get()
    store.objects["toy.pfa"] = b'{"input": "double", "output": "double", "action": [{"nope": []}]}'
    clock.now += 30
    loader.get()
    assert loader.get() is good
    failed = loader.update_status()["failed_update"]
    assert "does not compile" in failed["reason"] and failed["version"] != good.version
    store.objects["toy.pfa"] = TOY_200
    clock.now += 30
    loader.get()
    assert loader.get().predict(0.0) == 200.0 and loader.update_status()["failed_update"] is None


def test_a_deleted_named_model_stops_serving(store, clock):
    store.objects["toy.pfa"] = TOY
    loader = loader_for(store, clock, refresh_seconds=30, missing_is_not_found=True)
    loader.get()
    del store.objects["toy.pfa"]
    clock.now += 30
    loader.get()
    with pytest.raises(ModelNotFound, match="no model named 'toy'") as caught:
        loader.get()
    assert caught.value.status == 404
