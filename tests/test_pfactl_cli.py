"""pfactl's local commands (validate, score, export) and its command line, run in-process and as the script."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from pfactl.cli import main

ROOT = Path(__file__).resolve().parent.parent
MODELS, DATA = ROOT / "models", ROOT / "tests" / "data"
SONAR = MODELS / "sonar_naive_bayes.pfa"
TOY = MODELS / "toy_add100.pfa"
PFACTL = Path(sys.executable).parent / "pfactl"

# Echoes its input, so a prediction shows exactly what a CSV row was converted to.
ECHO_RECORD = {
    "name": "echo", "input": {"type": "record", "name": "Row", "fields": [
        {"name": "x", "type": "double"},
        {"name": "n", "type": "int"},
        {"name": "flag", "type": "boolean"},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["red", "blue"]}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "shade", "type": ["null", "Color"], "default": None}]},
    "output": "Row", "action": ["input"]}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def lines_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def r_predictions() -> list[str]:
    with (MODELS / "sonar_naive_bayes.r_predictions.csv").open(newline="") as handle:
        return [row["pred"] for row in csv.DictReader(handle)]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ----- validate ----------------------------------------------------------------------------------


def test_validate_describes_a_document_that_would_serve(capsys):
    code, out, err = run(capsys, "validate", SONAR)
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith(f"OK: {SONAR} would serve (name sonar_naive_bayes, method map)")
    assert '  input           {"type":"map","values":["null","string","double"]}' in out
    assert '  output          "string"' in out
    functions = next(line for line in out.splitlines() if line.strip().startswith("functions"))
    for name in ("a.map", "map.argmax", "prob.dist.gaussianLL", "m.ln"):
        assert name in functions
    for form in ("let", "cell", "new", "attr", "cast"):
        assert f" {form}," not in functions and not functions.endswith(f" {form}")
    assert "u.divide" in next(line for line in out.splitlines() if "user functions" in line)
    assert "special forms   attr, cast, cell, fcn, let, new" in out
    assert f"size            {SONAR.stat().st_size:,} bytes" in out
    assert "compile time" in out


def test_validate_reads_yaml_by_its_suffix(capsys, tmp_path):
    yaml_doc = write(tmp_path / "toy.yaml", "input: double\noutput: double\naction:\n  - {\"+\": [input, 1]}\n")
    code, out, _ = run(capsys, "validate", yaml_doc)
    assert code == 0 and "functions       +" in out
    code, _, err = run(capsys, "validate", write(tmp_path / "toy.pfa", yaml_doc.read_text()))
    assert code == 1 and "is not valid JSON" in one_line(err)


@pytest.mark.parametrize("text, reason", [
    ('{"input": "double", "output": "string", "action": [{"+": ["input", 1]}]}', "does not compile"),
    ('{"input": "double", "output": "double", "action": [{"+": ["input", 1]}', "not valid JSON"),
    ('[1, 2]', "must be a PFA object"),
    ('{"input": "double", "output": "double", "method": "fold", "zero": 0, "action": [{"+": ["input", "tally"]}], '
     '"merge": [{"+": ["tallyOne", "tallyTwo"]}]}', "not supported"),
])
def test_validate_refuses_what_would_not_serve_in_one_line(capsys, tmp_path, text, reason):
    code, out, err = run(capsys, "validate", write(tmp_path / "broken.pfa", text))
    assert code == 1 and out == ""
    line = one_line(err)
    assert line.startswith(f"pfactl: {tmp_path / 'broken.pfa'} would not serve: ") and reason in line


def test_missing_file_and_usage_errors_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "validate", tmp_path / "nope.pfa")
    assert code == 1 and "cannot read" in one_line(err) and "No such file" in err
    code, _, err = run(capsys, "validate")
    assert code == 2 and "required: MODEL.pfa" in one_line(err)
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in one_line(err)
    code, _, err = run(capsys)
    assert code == 2 and one_line(err)


def test_version_is_the_installed_package_version(capsys):
    from importlib.metadata import version

    code, out, err = run(capsys, "--version")
    assert code == 0 and err == ""
    assert out == f"pfactl {version('pfa-serving')}\n"


def test_version_without_installed_metadata_falls_back_to_the_checkout(tmp_path):
    from pfactl.version import package_version

    assert package_version("pfa-serving-not-installed", pyproject=tmp_path / "none.toml") == "unknown"
    declared = write(tmp_path / "pyproject.toml", '[project]\nname = "pfa-serving-not-installed"\nversion = "9.8"\n')
    assert package_version("pfa-serving-not-installed", pyproject=declared) == "9.8"
    assert package_version("other-name-not-installed", pyproject=declared) == "unknown"
    assert package_version("pfa-serving-not-installed", pyproject=write(tmp_path / "bad.toml", "[x")) == "unknown"


# ----- score -------------------------------------------------------------------------------------


def test_score_sonar_csv_matches_r(capsys, tmp_path):
    out_file = tmp_path / "out.jsonl"
    code, out, err = run(capsys, "score", SONAR, "--input", DATA / "sonar.csv", "-o", out_file)
    assert code == 0 and out == ""
    results = lines_of(out_file.read_text())
    assert [result["prediction"] for result in results] == r_predictions()
    warning, summary = err.strip().splitlines()
    assert warning == "pfactl: warning: ignoring CSV column(s) not in the model's input: Class"
    assert summary.startswith("scored 208 rows in ") and summary.endswith(f"208 predictions, 0 errors -> {out_file}")


def test_score_keeps_every_row_in_order_when_some_are_bad(capsys, tmp_path):
    rows = list(csv.reader((DATA / "sonar.csv").open(newline="")))
    rows[10] = rows[10][:-3]  # data row 10: too few cells
    rows[20][0] = "abc"  # data row 20: text where the model expects a number (metadata.input_types)
    with (tmp_path / "bad.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    code, out, err = run(capsys, "score", SONAR, "--input", tmp_path / "bad.csv")
    assert code == 0
    results = lines_of(out)
    assert len(results) == 208
    expected = r_predictions()
    for index, result in enumerate(results):
        if index == 9:
            assert result == {"error": {"code": "invalid_input",
                                        "message": "row has 58 cells, the header has 61 columns"}}
        elif index == 19:
            assert result["error"]["code"] == "invalid_input"
        else:
            assert result == {"prediction": expected[index]}
    assert err.strip().splitlines()[-1].endswith("206 predictions, 2 errors")


def test_score_jsonl_turns_malformed_lines_into_error_lines(capsys, tmp_path):
    data = write(tmp_path / "data.jsonl", '1\n{"oops\n\ntrue\nNaN\n"2"\n2.5\n')
    code, out, err = run(capsys, "score", TOY, "--input", data)
    assert code == 0
    results = lines_of(out)
    assert [next(iter(result)) for result in results] == ["prediction", "error", "error", "error", "error",
                                                          "prediction"]
    assert results[0] == {"prediction": 101.0} and results[5] == {"prediction": 102.5}
    assert results[1]["error"]["code"] == "malformed_json"
    assert "line is not valid JSON" in results[1]["error"]["message"]
    assert results[2] == {"error": {"code": "invalid_input", "message": "expected double, got true"}}
    assert results[3]["error"]["code"] == "malformed_json" and "NaN" in results[3]["error"]["message"]
    assert results[4] == {"error": {"code": "invalid_input", "message": 'expected double, got string "2" '
                                                                   '(a number in quotes: send it without the quotes)'}}
    assert "scored 6 rows" in err and "2 predictions, 4 errors" in err


def test_score_converts_csv_cells_by_the_record_type(capsys, tmp_path):
    model = write(tmp_path / "echo.pfa", json.dumps(ECHO_RECORD))
    data = write(tmp_path / "rows.csv", "\n".join([
        "x,n,flag,color,note,tags,label",
        '1.5,3,true,red,,"[""a"",""b""]",ignored',
        '2,4,FALSE,blue,hello,[],ignored',
        'oops,4,true,red,,[],ignored',
        '1,4.5,true,red,,[],ignored',
        '1,4,yes,red,,[],ignored',
        '1,4,true,green,,[],ignored',
        '1,4,true,red,,not json,ignored',
        '1,99999999999,true,red,,[],ignored',
    ]) + "\n")
    code, out, err = run(capsys, "score", model, "--input", data)
    assert code == 0
    results = lines_of(out)
    assert results[0] == {"prediction": {"x": 1.5, "n": 3, "flag": True, "color": "red", "note": None,
                                         "tags": ["a", "b"], "shade": None}}
    assert results[1]["prediction"]["note"] == "hello" and results[1]["prediction"]["flag"] is False
    fields = [result["error"].get("field") for result in results[2:]]
    assert fields == ["x", "n", "flag", "color", "tags", "n"]
    assert all(result["error"]["code"] == "invalid_input" for result in results[2:])
    assert results[2]["error"]["message"] == "cannot convert 'oops' to a number; expected double"
    assert "pfactl: warning: ignoring CSV column(s) not in the model's input: label" in err
    assert err.count("warning") == 1


def test_score_csv_for_map_and_plain_inputs(capsys, tmp_path):
    echo_map = write(tmp_path / "echo.pfa", json.dumps({"input": {"type": "map", "values": ["null", "double"]},
                                                        "output": {"type": "map", "values": ["null", "double"]},
                                                        "action": ["input"]}))
    data = tmp_path / "rows.csv"
    data.write_bytes(b"a,b\n1,\n\xff,2\n\n-0.5,1e3\n1e999,1\n")
    code, out, _ = run(capsys, "score", echo_map, "--input", data)
    assert code == 0
    assert lines_of(out) == [
        {"prediction": {"a": 1.0, "b": None}},
        {"error": {"code": "invalid_input", "message": "row is not UTF-8 text"}},
        {"prediction": {"a": -0.5, "b": 1000.0}},
        {"error": {"code": "invalid_input", "message": "'1e999' is out of the range of a double", "field": "a"}}]
    code, out, _ = run(capsys, "score", TOY, "--input", write(tmp_path / "x.csv", "x\n1\n2.5\nnope\n"))
    assert [next(iter(result.values())) for result in lines_of(out)][:2] == [101.0, 102.5]
    assert lines_of(out)[2]["error"]["message"] == "cannot convert 'nope' to a number; expected double"
    code, _, err = run(capsys, "score", TOY, "--input", write(tmp_path / "y.csv", "x,y\n1,2\n"))
    assert code == 1 and "exactly one column" in one_line(err)


def test_score_refuses_a_csv_without_the_required_columns(capsys, tmp_path):
    code, out, err = run(capsys, "score", MODELS / "iris_decision_tree.pfa", "--input", DATA / "iris.csv",
                         "-o", tmp_path / "out.jsonl")
    assert code == 1 and out == ""
    assert "no column for the model's required input field(s) sepal_length, sepal_width" in one_line(err)
    assert not (tmp_path / "out.jsonl").exists()


def test_score_with_progress_forced(capsys, tmp_path):
    code, _, err = run(capsys, "score", SONAR, "--input", DATA / "sonar.csv", "-o", tmp_path / "o.jsonl",
                       "--progress")
    assert code == 0
    drawn = err.replace("\r", "\n").splitlines()
    final = [line for line in drawn if line.startswith("100%|")]
    assert final and final[-1].endswith(", 208 rows, 0 errors]")  # the last state stays
    assert err.endswith("\n") and drawn[-1].startswith("scored 208 rows")
    # A warning is a line of its own, not mixed into the bar.
    assert "pfactl: warning: ignoring CSV column(s) not in the model's input: Class" in drawn


def test_a_forced_progress_bar_never_reaches_the_results(capsys):
    plain = run(capsys, "score", SONAR, "--input", DATA / "sonar.csv")
    forced = run(capsys, "score", SONAR, "--input", DATA / "sonar.csv", "--progress")
    assert plain[0] == forced[0] == 0 and forced[1] == plain[1]
    assert "rows, 0 errors]" in forced[2] and "rows, 0 errors]" not in plain[2]


def test_progress_writes_nothing_when_off_or_for_a_short_run():
    from pfactl.progress import Progress

    for enabled in (False, True):  # True: on a terminal, where a run under half a second shows no bar
        stream = io.StringIO()
        bar = Progress(stream, 1000, enabled=enabled)
        for row in range(1, 11):
            bar.update(row * 100, row, 0)
        bar.finish(1000, 10, 0)
        assert stream.getvalue() == ""


class Terminal:
    """A pseudo-terminal: what a process writes to ``slave`` is read back from ``master``. One opened
    without a size reports 0 columns, as under `script` or some CI runners."""

    def __init__(self, columns: int = 0) -> None:
        self.master, self.slave = pty.openpty()
        if columns:
            fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.text = ""

    def read(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and select.select([self.master], [], [], left)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            self.text += chunk.decode("utf-8", "replace")
        return self.text


def score_slowly(stdout: object, stderr: Terminal, shown: Terminal, wait_for: str) -> tuple[int, str]:
    """Run `pfactl score` on stdin fed a row every 0.1 s until ``wait_for`` shows on ``shown``, then for
    one more second (twice the bar's delay); returns the exit status and the results, if piped."""
    process = subprocess.Popen([str(PFACTL), "score", str(TOY), "--input", "-"], stdin=subprocess.PIPE,
                               stdout=stdout, stderr=stderr.slave)
    os.close(stderr.slave)
    if shown is not stderr:
        os.close(shown.slave)
    try:
        deadline, seen_at = time.monotonic() + 60, None
        while seen_at is None or time.monotonic() < seen_at + 1:
            assert time.monotonic() < deadline, stderr.text
            process.stdin.write(b"1\n")
            process.stdin.flush()
            if seen_at is None and wait_for in shown.read(0.1):
                seen_at = time.monotonic()
            elif seen_at is not None:
                time.sleep(0.1)
        process.stdin.close()
        results = process.stdout.read().decode() if process.stdout else ""
        return process.wait(timeout=60), results
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("columns", [0, 100])
def test_on_a_terminal_the_bar_shows_after_a_while_on_stderr_only_and_is_erased(columns):
    stderr = Terminal(columns)
    code, results = score_slowly(subprocess.PIPE, stderr, stderr, wait_for=" rows, 0 errors]")
    assert code == 0
    rows = results.splitlines()
    assert rows and set(rows) == {'{"prediction":101.0}'}  # the results carry no trace of the bar
    last_line = stderr.read(5).replace("\r\n", "\n").rstrip("\n").split("\n")[-1]
    *bar, erased, summary = last_line.split("\r")
    assert bar and erased.strip() == "" and summary.startswith(f"scored {len(rows)} rows")


def test_no_bar_when_the_results_go_to_the_same_terminal():
    results, stderr = Terminal(), Terminal()
    code, _ = score_slowly(results.slave, stderr, results, wait_for='{"prediction":101.0}')
    assert code == 0
    assert results.read(5).count('{"prediction":101.0}') >= 10
    assert stderr.read(5).strip().startswith("scored ") and "errors]" not in stderr.text


def test_score_refuses_a_broken_model_and_unknown_formats(capsys, tmp_path):
    broken = write(tmp_path / "broken.pfa", '{"input": "double"}')
    code, _, err = run(capsys, "score", broken, "--input", DATA / "sonar.csv")
    assert code == 1 and "would not serve" in one_line(err)
    code, _, err = run(capsys, "score", TOY, "--input", write(tmp_path / "data.txt", "1\n"))
    assert code == 1 and "--format" in one_line(err)
    code, out, _ = run(capsys, "score", TOY, "--input", tmp_path / "data.txt", "--format", "jsonl")
    assert code == 0 and lines_of(out) == [{"prediction": 101.0}]


# ----- export ------------------------------------------------------------------------------------


def exporter_or_skip():
    try:
        from pfactl.export import to_pfa  # noqa: F401
    except ImportError as error:
        pytest.skip(f"pfactl.export.to_pfa is not there yet: {error}")


def iris():
    with (DATA / "iris.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    features = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]
    return [[float(row[name]) for name in features] for row in rows], [row["Species"] for row in rows]


def test_export_linear_regression_and_score_it(capsys, tmp_path):
    exporter_or_skip()
    import joblib
    from sklearn.linear_model import LinearRegression

    x, _ = iris()
    target = [row[3] for row in x]
    features = [row[:3] for row in x]
    estimator = LinearRegression().fit(features, target)
    joblib.dump(estimator, tmp_path / "linear.joblib")
    code, out, err = run(capsys, "export", tmp_path / "linear.joblib", "-o", tmp_path / "linear.pfa",
                         "--features", "a,b,c", "--name", "petal_width")
    assert code == 0, err
    assert out.startswith(f"wrote {tmp_path / 'linear.pfa'}")
    assert run(capsys, "validate", tmp_path / "linear.pfa")[0] == 0
    records = [dict(zip("abc", row, strict=True)) for row in features]
    data = write(tmp_path / "rows.jsonl", "".join(json.dumps(record) + "\n" for record in records))
    code, out, _ = run(capsys, "score", tmp_path / "linear.pfa", "--input", data)
    got = [result["prediction"] for result in lines_of(out)]
    assert got == pytest.approx(list(estimator.predict(features)), abs=1e-9)


def test_export_logistic_regression_labels_and_probabilities_in_yaml(capsys, tmp_path):
    exporter_or_skip()
    import joblib
    from sklearn.linear_model import LogisticRegression

    x, y = iris()
    estimator = LogisticRegression(max_iter=1000).fit(x, y)
    joblib.dump(estimator, tmp_path / "logistic.joblib")
    code, _, err = run(capsys, "export", tmp_path / "logistic.joblib", "-o", tmp_path / "labels.pfa",
                       "--features", "a,b,c,d")
    assert code == 0, err
    code, _, err = run(capsys, "export", tmp_path / "logistic.joblib", "-o", tmp_path / "proba.yaml",
                       "--features", "a,b,c,d", "--yaml", "--proba")
    assert code == 0, err
    data = write(tmp_path / "rows.jsonl", "".join(json.dumps(dict(zip("abcd", row, strict=True))) + "\n" for row in x))
    code, out, _ = run(capsys, "score", tmp_path / "labels.pfa", "--input", data)
    assert [result["prediction"] for result in lines_of(out)] == list(estimator.predict(x))
    code, out, _ = run(capsys, "score", tmp_path / "proba.yaml", "--input", data)
    first = lines_of(out)[0]["prediction"]
    expected = dict(zip(estimator.classes_, estimator.predict_proba(x[:1])[0], strict=True))
    assert first == pytest.approx(expected, abs=1e-9)


def test_a_model_exported_from_a_dataframe_scores_the_same_csv(capsys, tmp_path):
    exporter_or_skip()
    import joblib
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    frame = pd.read_csv(DATA / "iris.csv")
    features = frame.drop(columns="Species")
    estimator = DecisionTreeClassifier(random_state=0).fit(features, frame["Species"])
    joblib.dump(estimator, tmp_path / "tree.joblib")
    assert run(capsys, "export", tmp_path / "tree.joblib", "-o", tmp_path / "tree.pfa")[0] == 0
    # Columns such as Sepal.Length feed fields named Sepal_Length (metadata.renamed_features).
    code, out, err = run(capsys, "score", tmp_path / "tree.pfa", "--input", DATA / "iris.csv")
    assert code == 0, err
    assert [result["prediction"] for result in lines_of(out)] == list(estimator.predict(features))
    assert "ignoring CSV column(s) not in the model's input: Species" in err


def test_export_failures_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "export", tmp_path / "m.joblib", "-o", tmp_path / "m.pfa", "--yaml")
    assert code == 1 and "*.yaml" in one_line(err)
    code, _, err = run(capsys, "export", tmp_path / "m.joblib", "-o", tmp_path / "m.yaml")
    assert code == 1 and "--yaml" in one_line(err)
    exporter_or_skip()
    code, _, err = run(capsys, "export", tmp_path / "missing.joblib", "-o", tmp_path / "m.pfa")
    assert code == 1 and "cannot read" in one_line(err)
    write(tmp_path / "garbage.joblib", "not a pickle")
    code, _, err = run(capsys, "export", tmp_path / "garbage.joblib", "-o", tmp_path / "m.pfa")
    assert code == 1 and one_line(err) == (f"pfactl: {tmp_path / 'garbage.joblib'} is not a joblib file (it looks "
                                           f"like text); expected a model saved with joblib.dump")
    import joblib
    joblib.dump({"not": "an estimator"}, tmp_path / "dict.joblib")
    code, _, err = run(capsys, "export", tmp_path / "dict.joblib", "-o", tmp_path / "m.pfa")
    assert code == 1 and one_line(err).startswith("pfactl: ")
    assert not (tmp_path / "m.pfa").exists()


def test_export_help_lists_what_the_exporter_supports(capsys):
    exporter_or_skip()
    from pfactl.export import supported_classes, supported_estimators, supported_steps

    code, out, _ = run(capsys, "export", "--help")
    assert code == 0
    text = " ".join(out.split())  # argparse wraps the epilog
    assert f"Supported estimators: {', '.join(supported_estimators())}." in text
    assert f"in front of one: {', '.join(supported_steps())}." in text
    assert "FunctionTransformer" in supported_classes()


def test_readme_lists_every_class_the_exporter_supports():
    exporter_or_skip()
    from pfactl.export import supported_classes

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## From scikit-learn to a live endpoint"):]
    section = section[:section.index("\n## ", 1)]
    words = set(section.replace(",", " ").replace("(", " ").split())
    assert [name for name in supported_classes() if name not in words and f"{name}s" not in words] == []


def test_the_top_level_help_does_not_load_scikit_learn():
    script = ("import sys\nfrom pfactl.cli import main\ncode = main(['--help'])\n"
              "sys.exit(3 if 'sklearn' in sys.modules else code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and "export" in done.stdout


# ----- empty and foreign files, for every command that reads one ---------------------------------

PFA_EXPECTED = "expected a PFA document (JSON, or YAML when named *.yaml or *.yml)"
JOBLIB_EXPECTED = "expected a model saved with joblib.dump"


@pytest.mark.parametrize("content", ["", "  \n\n"])
@pytest.mark.parametrize("command, name", [
    (["validate"], "empty.pfa"), (["validate"], "empty.yaml"), (["compile"], "empty.pfa"),
    (["score", "{model}", "--input", str(DATA / "sonar.csv")], "empty.pfa"),
    (["upload", "{model}", "--name", "toy", "--bucket", "never-reached"], "empty.pfa"),
    (["upload", "{model}", "--name", "toy", "--bucket", "never-reached"], "empty.yml"),
])
def test_an_empty_model_document_is_named_with_what_was_expected(capsys, tmp_path, content, command, name):
    model = write(tmp_path / name, content)
    args = [arg.format(model=model) for arg in command] + ([] if "{model}" in command else [str(model)])
    code, out, err = run(capsys, *args)
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: {model} is empty; {PFA_EXPECTED}"


@pytest.mark.parametrize("fmt, content, expected", [
    ("csv", "", "expected CSV with a header line naming the columns"),
    ("csv", "\n\n", "expected CSV with a header line naming the columns"),
    ("jsonl", "", "expected one JSON record a line"),
    ("jsonl", "\n  \n", "expected one JSON record a line"),
])
def test_empty_data_to_score_is_named_and_leaves_no_output(capsys, tmp_path, fmt, content, expected):
    data = write(tmp_path / f"rows.{fmt}", content)
    code, out, err = run(capsys, "score", TOY, "--input", data, "-o", tmp_path / "out.jsonl")
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: {data} is empty; {expected}"
    assert not (tmp_path / "out.jsonl").exists()


def test_empty_data_on_stdin_is_named_stdin():
    done = subprocess.run([str(PFACTL), "score", str(TOY), "--input", "-", "--format", "csv"], input="",
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert one_line(done.stderr) == "pfactl: stdin is empty; expected CSV with a header line naming the columns"


@pytest.mark.parametrize("content, message", [
    (b"", f"is empty; {JOBLIB_EXPECTED}"),
    (b"\n", f"is empty; {JOBLIB_EXPECTED}"),
    (b"{123: 4}", f"is not a joblib file (it looks like JSON; export reads the fitted scikit-learn model, not a PFA "
                  f"document); {JOBLIB_EXPECTED}"),
    (b"\x00\x01binary", f"is not a joblib file; {JOBLIB_EXPECTED}"),
    (b"\x80\x04\x95\x10\x00", f"is damaged or cut short: it starts as a joblib file but does not load; "
                              f"{JOBLIB_EXPECTED}"),
])
def test_export_names_an_empty_or_foreign_joblib_file(capsys, tmp_path, content, message):
    exporter_or_skip()
    source = tmp_path / "model.joblib"
    source.write_bytes(content)
    code, out, err = run(capsys, "export", source, "-o", tmp_path / "m.pfa")
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: {source} {message}"


def test_export_of_a_pfa_document_says_it_reads_the_scikit_learn_model(capsys, tmp_path):
    exporter_or_skip()
    code, _, err = run(capsys, "export", SONAR, "-o", tmp_path / "m.pfa")
    assert code == 1 and one_line(err).startswith(f"pfactl: {SONAR} is not a joblib file (it looks like JSON")


def test_export_turns_load_warnings_into_one_line_each(capsys, tmp_path):
    exporter_or_skip()
    import joblib
    import sklearn
    from sklearn.naive_bayes import GaussianNB

    x, y = iris()
    joblib.dump(GaussianNB().fit(x, y), tmp_path / "nb.joblib")
    # The same model, as if saved by another scikit-learn of the same version length.
    other = "9" * len(sklearn.__version__)
    data = (tmp_path / "nb.joblib").read_bytes()
    assert data.count(sklearn.__version__.encode()) == 1
    (tmp_path / "old.joblib").write_bytes(data.replace(sklearn.__version__.encode(), other.encode()))
    code, out, err = run(capsys, "export", tmp_path / "old.joblib", "-o", tmp_path / "nb.pfa")
    assert code == 0 and out.startswith("wrote ")
    line = one_line(err)
    assert line.startswith(f"pfactl: warning: {tmp_path / 'old.joblib'}: ") and other in line
    assert "Warning" not in line and "Traceback" not in line


# ----- the installed script ----------------------------------------------------------------------


def test_the_installed_script_and_python_m(tmp_path):
    done = subprocess.run([str(PFACTL), "validate", str(TOY)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith(f"OK: {TOY} would serve")
    data = write(tmp_path / "d.jsonl", "1\n[\n")
    done = subprocess.run([str(PFACTL), "score", str(TOY), "--input", str(data)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0
    assert [next(iter(json.loads(line))) for line in done.stdout.splitlines()] == ["prediction", "error"]
    assert done.stderr.strip().startswith("scored 2 rows")
    broken = write(tmp_path / "broken.pfa", "{}")
    done = subprocess.run([sys.executable, "-m", "pfactl", "validate", str(broken)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1 and done.stdout == ""
    assert one_line(done.stderr).startswith(f"pfactl: {broken} would not serve: ")
