"""pfactl and the two engines: validate says which would serve and why, score --engine, and compile."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.compiler import compile_document
from pfactl.cli import main

ROOT = Path(__file__).resolve().parent.parent
MODELS, DATA = ROOT / "models", ROOT / "tests" / "data"
SONAR = MODELS / "sonar_naive_bayes.pfa"
TOY = MODELS / "toy_add100.pfa"
EXAMPLES = sorted(MODELS.glob("*.pfa"))
PFACTL = Path(sys.executable).parent / "pfactl"

# titus serves `pack`; the compiler does not write it (chalicelib/compiler/core.py: "the form Pack is not compiled").
PACKER = {"name": "packer", "input": "int", "output": "bytes", "action": [{"pack": [{"int": "input"}]}]}
NOT_COVERED = "the compiler does not cover this document: the form Pack is not compiled"
AGREED = "compiled, because it agreed with titus on "


@pytest.fixture(autouse=True)
def no_engine_setting(monkeypatch):
    monkeypatch.delenv("PFA_ENGINE", raising=False)


@pytest.fixture
def packer(tmp_path: Path) -> Path:
    path = tmp_path / "packer.pfa"
    path.write_text(json.dumps(PACKER))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def engine_row(out: str) -> str:
    rows = [line.strip() for line in out.splitlines() if line.strip().startswith("engine ")]
    assert len(rows) == 1, out
    return rows[0].split(None, 1)[1]


def r_predictions() -> list[str]:
    import csv

    with (MODELS / "sonar_naive_bayes.r_predictions.csv").open(newline="") as handle:
        return [row["pred"] for row in csv.DictReader(handle)]


# ----- validate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", EXAMPLES, ids=lambda path: path.name)
def test_validate_says_the_example_models_serve_compiled_and_why(capsys, model):
    code, out, err = run(capsys, "validate", model)
    assert code == 0 and err == ""
    assert engine_row(out).startswith(AGREED) and " check inputs (" in engine_row(out)
    code, out, err = run(capsys, "validate", model, "--engine", "titus")
    assert code == 0 and engine_row(out) == "titus, because PFA_ENGINE is 'titus'"
    code, out, err = run(capsys, "validate", model, "--engine", "compiled")
    assert code == 0
    assert engine_row(out).startswith("compiled, because PFA_ENGINE is 'compiled' and it agreed with titus on ")


def test_validate_names_why_titus_serves_what_the_compiler_does_not_cover(capsys, packer):
    code, out, err = run(capsys, "validate", packer)
    assert code == 0 and err == ""
    assert engine_row(out) == f"titus, because {NOT_COVERED}"
    assert "special forms   pack" in out
    code, out, err = run(capsys, "validate", packer, "--engine", "compiled")
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: {packer} would not serve: PFA_ENGINE is 'compiled' but {NOT_COVERED}"


def test_the_engine_defaults_to_pfa_engine_and_the_option_wins(capsys, monkeypatch, packer):
    monkeypatch.setenv("PFA_ENGINE", " Titus ")  # read as the service reads it
    assert engine_row(run(capsys, "validate", TOY)[1]) == "titus, because PFA_ENGINE is 'titus'"
    assert engine_row(run(capsys, "validate", TOY, "--engine", "auto")[1]).startswith(AGREED)
    monkeypatch.setenv("PFA_ENGINE", "compiled")
    code, _, err = run(capsys, "validate", packer)
    assert code == 1 and "PFA_ENGINE is 'compiled' but" in one_line(err)
    monkeypatch.setenv("PFA_ENGINE", "")
    assert engine_row(run(capsys, "validate", TOY)[1]).startswith(AGREED)


def test_a_malformed_engine_setting_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("PFA_ENGINE", "fast")
    for command in (["validate", TOY], ["score", TOY, "--input", DATA / "sonar.csv"]):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == ""
        assert one_line(err) == "pfactl: PFA_ENGINE must be one of auto, compiled, titus, got 'fast' (or pass --engine)"
    assert engine_row(run(capsys, "validate", TOY, "--engine", "titus")[1]).startswith("titus")
    code, _, err = run(capsys, "validate", TOY, "--engine", "fast")
    assert code == 2 and "invalid choice: 'fast'" in one_line(err)


# ----- score --engine ----------------------------------------------------------------------------


def test_score_sonar_gives_the_same_lines_on_both_engines(capsys):
    results = {}
    for engine in ("compiled", "titus", "auto"):
        code, out, err = run(capsys, "score", SONAR, "--input", DATA / "sonar.csv", "--engine", engine)
        assert code == 0
        warning, summary = err.strip().splitlines()  # no word about the engine when it is the one asked for
        assert warning == "pfactl: warning: ignoring CSV column(s) not in the model's input: Class"
        assert summary.endswith("208 predictions, 0 errors")
        results[engine] = out
    assert results["compiled"] == results["titus"] == results["auto"]
    assert [json.loads(line)["prediction"] for line in results["compiled"].splitlines()] == r_predictions()


def test_score_with_auto_falls_back_to_titus_and_says_so(capsys, packer, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text("1\n256\n")
    code, out, err = run(capsys, "score", packer, "--input", data)
    assert code == 0
    assert out.splitlines() == ['{"prediction":"\\u0000\\u0000\\u0000\\u0001"}',
                                '{"prediction":"\\u0000\\u0000\\u0001\\u0000"}']
    note, summary = err.strip().splitlines()
    assert note == f"pfactl: scoring with titus, not the compiled engine: {NOT_COVERED}"
    assert summary.startswith("scored 2 rows")
    code, titus_out, err = run(capsys, "score", packer, "--input", data, "--engine", "titus")
    assert code == 0 and titus_out == out and "compiled engine" not in err


def test_score_with_compiled_refuses_what_the_compiler_does_not_cover(capsys, packer, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text("1\n")
    code, out, err = run(capsys, "score", packer, "--input", data, "--engine", "compiled", "-o", tmp_path / "o.jsonl")
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: {packer} would not serve: PFA_ENGINE is 'compiled' but {NOT_COVERED}"
    assert not (tmp_path / "o.jsonl").exists()


# ----- compile -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", EXAMPLES, ids=lambda path: path.name)
def test_compile_prints_the_generated_python(capsys, model):
    code, out, err = run(capsys, "compile", model)
    assert code == 0 and err == ""
    assert out == compile_document(json.loads(model.read_text())).source.rstrip("\n") + "\n"
    tree = ast.parse(out)
    assert [node.name for node in tree.body if isinstance(node, ast.FunctionDef)] == ["_instance"]


@pytest.mark.parametrize("model", EXAMPLES, ids=lambda path: path.name)
def test_compile_check_says_which_engine_would_serve_and_why(capsys, model):
    plain = run(capsys, "compile", model)[1]
    code, out, err = run(capsys, "compile", model, "--check")
    assert code == 0 and out == plain
    line = one_line(err)
    assert line.startswith(f"engine: {AGREED}") and line.endswith(" ms)")


def test_compile_reads_yaml_by_its_suffix(capsys, tmp_path):
    source = tmp_path / "toy.yaml"
    source.write_text("input: double\noutput: double\naction:\n  - {\"+\": [input, 1]}\n")
    code, out, err = run(capsys, "compile", source)
    assert code == 0 and err == "" and "+ (1)" in out


@pytest.mark.parametrize("check", [[], ["--check"]])
def test_compile_refuses_what_the_compiler_does_not_cover_naming_the_reason(capsys, packer, check):
    code, out, err = run(capsys, "compile", packer, *check)
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: cannot compile {packer}: {NOT_COVERED} (the service serves it with titus)"


def test_compile_refuses_what_would_not_serve_as_validate_does(capsys, tmp_path):
    broken = tmp_path / "broken.pfa"
    broken.write_text('{"input": "double", "output": "string", "action": [{"+": ["input", 1]}]}')
    for command in ("compile", "validate"):
        code, out, err = run(capsys, command, broken)
        assert code == 1 and out == ""
        assert one_line(err).startswith(f"pfactl: {broken} would not serve: the PFA document does not compile")
    code, _, err = run(capsys, "compile", tmp_path / "missing.pfa")
    assert code == 1 and "cannot read" in one_line(err)
    empty = tmp_path / "empty.pfa"
    empty.write_text("\n")
    code, _, err = run(capsys, "compile", empty)
    assert code == 1 and one_line(err) == (f"pfactl: {empty} is empty; expected a PFA document (JSON, or YAML when "
                                           f"named *.yaml or *.yml)")
    code, _, err = run(capsys, "compile")
    assert code == 2 and "required: MODEL.pfa" in one_line(err)


def test_the_help_describes_the_engine_option_and_compile(capsys):
    for command in ("validate", "score"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0 and "--engine {auto,compiled,titus}" in out and "PFA_ENGINE" in out
    code, out, _ = run(capsys, "compile", "--help")
    assert code == 0 and "--check" in out and "stdout" in out
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "compile " in out


def test_the_installed_script_compiles_to_python_that_runs(tmp_path):
    done = subprocess.run([str(PFACTL), "compile", str(TOY)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    namespace: dict = {}
    exec(compile(done.stdout, "toy", "exec"), namespace)
    assert callable(namespace["_instance"])
