"""Every model family the exporters produce, scored the way a request is:
``encode(model.score(validate(json_value)))``.

The documents are ``tests/pfa/*.pfa.json``; their inputs and expected outputs
(worked out from each model's formula in plain Python, with a note on how) are in
``tests/pfa/cases.json``. Bad inputs, failing models and broken documents are in
``invalid_inputs.json`` and ``failures.json`` next to them.
"""

import json
import time
from functools import cache
from pathlib import Path

import pytest

from chalicelib.engine import PfaModel
from chalicelib.errors import InvalidInput, ModelError, ModelLoadError, ModelTimeout
from chalicelib.output_encoding import compile_encoder
from chalicelib.validation import compile_validator

PFA_DIR = Path(__file__).parent / "pfa"
SUFFIX = ".pfa.json"
FAMILIES = sorted(path.name[: -len(SUFFIX)] for path in PFA_DIR.glob("*" + SUFFIX))


def load(file_name):
    return json.loads((PFA_DIR / file_name).read_text())


CASES = load("cases.json")
INVALID_INPUTS = load("invalid_inputs.json")
FAILURES = load("failures.json")


def by_case(cases):
    return pytest.mark.parametrize("case", cases, ids=[case["case"] for case in cases])


def scorer(model):
    """The request path: strict validation, scoring, plain-JSON encoding."""
    validate, encode = compile_validator(model.input_schema), compile_encoder(model.output_schema)
    return lambda value: encode(model.score(validate(value)))


def compile_family(name, **options):
    return PfaModel.compile(load(name + SUFFIX), **options)


@cache
def validator(name):
    return compile_validator(compile_family(name).input_schema)


def assert_json_equal(actual, expected, where="output"):
    """Exact JSON types and values; doubles to rel=1e-12."""
    if type(expected) is float:
        assert type(actual) is float, f"{where}: {actual!r} != {expected!r}"
        assert actual == pytest.approx(expected, rel=1e-12), f"{where}: {actual!r} != {expected!r}"
    elif type(expected) is dict:
        assert type(actual) is dict and actual.keys() == expected.keys(), f"{where}: {actual!r} != {expected!r}"
        for key in expected:
            assert_json_equal(actual[key], expected[key], f"{where}.{key}")
    elif type(expected) is list:
        assert type(actual) is list and len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for index, (item, expected_item) in enumerate(zip(actual, expected, strict=True)):
            assert_json_equal(item, expected_item, f"{where}[{index}]")
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_every_family_has_cases():
    assert FAMILIES and sorted(CASES) == FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_family_scores_expected_outputs(family):
    score = scorer(compile_family(family))
    for number, case in enumerate(CASES[family]):  # in order: a stateful model sees the earlier cases
        output = score(case["input"])
        json.dumps(output, allow_nan=False)  # plain JSON: no NaN/Infinity literals, no bytes
        assert_json_equal(output, case["output"], f"case {number} ({case['note']})")


def test_cell_state_is_kept_between_calls_and_not_shared_between_models():
    first, second = scorer(compile_family("running_mean")), scorer(compile_family("running_mean"))
    assert [first(2.0)["count"] for _ in range(3)] == [1, 2, 3]
    assert first(8)["mean"] == pytest.approx(3.5, rel=1e-12)
    assert second(1.0) == {"count": 1, "mean": 1.0, "max": 1.0}


@by_case(INVALID_INPUTS)
def test_invalid_input_names_field_and_problem(case):
    with pytest.raises(InvalidInput) as raised:
        validator(case["document"])(case["input"])
    error = raised.value
    assert error.field == case["field"]
    for fragment in case["message"]:
        assert fragment in error.message
    assert error.status == 400 and error.to_body()["error"].get("field") == case["field"]


def test_nullable_field_with_null_default_may_be_omitted():
    assert validator("order_summary")({"amount": 1, "customer": {"id": "c1", "segment": "retail", "history": []}}) == {
        "amount": 1.0, "note": None, "customer": {"id": "c1", "segment": "retail", "history": []}}


@by_case(FAILURES["runtime_errors"])
def test_runtime_error_is_model_error_with_pfa_code(case):
    score = scorer(PfaModel.compile(case["document"]))
    with pytest.raises(ModelError) as raised:
        score(case["input"])
    assert raised.value.pfa_code == case["pfa_code"]
    assert raised.value.status == 422 and raised.value.to_body()["error"].get("pfa_code") == case["pfa_code"]


def test_endless_loop_is_stopped_by_timeout():
    case = FAILURES["timeout"]
    score = scorer(PfaModel.compile(case["document"], timeout_ms=case["timeout_ms"]))
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        score(case["input"])
    assert time.monotonic() - started < 5


@by_case(FAILURES["broken"])
def test_broken_document_is_model_load_error(case):
    with pytest.raises(ModelLoadError):
        PfaModel.compile(case["document"])


def test_an_integer_beyond_a_double_is_invalid_input_not_a_crash():
    with pytest.raises(InvalidInput, match="out of its range"):
        compile_validator("double")(10 ** 400)


def test_endless_recursion_in_a_user_function_is_a_model_error():
    model = PfaModel.compile({"input": "int", "output": "int", "action": {"u.f": ["input"]},
                              "fcns": {"f": {"params": [{"n": "int"}], "ret": "int", "do": {"u.f": ["n"]}}}})
    with pytest.raises(ModelError, match="recursed too deeply"):
        model.score(1)


@pytest.mark.parametrize("value", [{"null": 3.0}, {"map": 1.5}, {"a": 1.0, "b": 2.0}])
def test_a_map_in_a_union_output_is_not_mistaken_for_a_tagged_value(value):
    union = ["null", {"type": "map", "values": "double"}]
    model = PfaModel.compile({"input": union, "output": union, "action": "input"})
    assert compile_encoder(union)(model.score(compile_validator(union)(value))) == value
