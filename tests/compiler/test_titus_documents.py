"""titus2's own test documents (testGenpy, fetched from its sdist at test time), scored by both engines.

For the duration of the run, ``PFAEngine.fromAst`` (which ``fromYaml`` and ``fromJson`` call) builds
titus's engines as usual and, where :func:`compile_document` accepts the document, one compiled
instance per titus instance. Each engine testGenpy gets is a wrapper: its ``action`` (and ``begin``,
``end``) runs titus and the compiled instance, records whether their outcomes and log messages agree,
and returns titus's result or raises titus's error, so testGenpy's own assertions still run on titus.
testGenpy calls ``action`` with ``check=True`` on un-normalised data; the compiled instance gets the
datum as titus's ``checkData`` converts it.
"""

import collections
import copy
import json
import unittest
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from titus.datatype import checkData
from titus.genpy import PFAEngine

from chalicelib.compiler import Unsupported, compile_document
from chalicelib.compiler import program as compiler_program
from chalicelib.compiler.agreement import outcome, same, same_outcome

from .titus_sdist import fetch_test_genpy, load_test_genpy

GUARD_MS = 10_000  # a compiled instance gets titus's timeout, or this when titus has none
# testGenpy tests whose documents the compiled engine answers differently (see /work/notes/core_bugs.md).
KNOWN_DISAGREEMENTS: Dict[str, str] = {}


@dataclass
class Census:
    documents: int = 0
    compiled: int = 0
    instances: int = 0
    unsupported: Dict[str, int] = field(default_factory=collections.Counter)
    compiler_failures: List[Tuple[str, str]] = field(default_factory=list)
    compared: int = 0
    disagreements: List[Tuple[str, str]] = field(default_factory=list)
    begin_end_values: List[Tuple[str, str]] = field(default_factory=list)
    unsupported_in: Dict[str, List[str]] = field(default_factory=lambda: collections.defaultdict(list))
    current_test: str = ""
    tests_with_compiled: set = field(default_factory=set)

    def not_compiled(self, reason: str) -> None:
        self.unsupported[reason] += 1
        self.unsupported_in[reason].append(self.current_test)

    def report(self) -> str:
        lines = [f"testGenpy documents titus accepted: {self.documents}",
                 f"  compiled: {self.compiled} ({self.instances} compiled instances)",
                 f"  not compiled: {sum(self.unsupported.values())}",
                 f"  compiler failures (not Unsupported): {len(self.compiler_failures)}",
                 f"calls compared (action, begin, end): {self.compared}",
                 f"disagreements: {len(self.disagreements)}",
                 "Unsupported reasons:"]
        for reason, count in sorted(self.unsupported.items(), key=lambda item: (-item[1], item[0])):
            tests = sorted(set(self.unsupported_in[reason]))
            lines.append(f"  {count:4d}  {reason}  (in {', '.join(tests[:4])}{', ...' if len(tests) > 4 else ''})")
        lines += [f"compiler failure in {test}: {what}" for test, what in self.compiler_failures]
        lines += [f"DISAGREEMENT in {test}: {what}" for test, what in self.disagreements]
        lines += [f"begin/end return value in {test}: {what}" for test, what in self.begin_end_values]
        return "\n".join(lines)


_COMPILED_LOG: List[Tuple[Any, Any]] = []


def _compiled_log(message: Any, namespace: Any) -> None:
    _COMPILED_LOG.append((copy.deepcopy(message), namespace))


def _replay(result: Any, error: Optional[BaseException]) -> Callable[[Any], Any]:
    def again(_: Any) -> Any:
        if error is not None:
            raise error
        return result
    return again


def _bounded(action: Callable[[Any], Any], datum: Any):
    try:
        return outcome(action, datum)
    except MemoryError:
        return ("memory", None)


class PairedEngine:
    """Looks like titus's engine to testGenpy; runs the compiled instance alongside."""

    def __init__(self, titus_engine: Any, compiled: Any, census: Census) -> None:
        object.__setattr__(self, "_titus", titus_engine)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_census", census)
        object.__setattr__(self, "_titus_log", [])
        titus_engine.log = self._recording(titus_engine.log)

    def _recording(self, log: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def record(message: Any, namespace: Any) -> Any:
            self._titus_log.append((copy.deepcopy(message), namespace))
            return log(message, namespace)
        return record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._titus, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._titus, name, self._recording(value) if name == "log" else value)

    def action(self, input: Any, check: bool = True) -> Any:
        if self._compiled is None:
            return self._titus.action(input, check=check)
        try:
            datum = checkData(copy.deepcopy(input), self._titus.inputType) if check else copy.deepcopy(input)
        except Exception:
            datum = None  # titus refuses it before running: nothing to compare
            checked = False
        else:
            checked = True
        timeout = self._titus.options.timeout_action
        return self._both("action", lambda: self._titus.action(input, check=check),
                          (lambda: self._compiled.action(datum)) if checked else None, timeout)

    def begin(self) -> Any:
        compiled = self._compiled
        return self._both("begin", self._titus.begin, compiled.begin if compiled else None,
                          self._titus.options.timeout_begin)

    def end(self) -> Any:
        compiled = self._compiled
        return self._both("end", self._titus.end, compiled.end if compiled else None, self._titus.options.timeout_end)

    def _both(self, what: str, run_titus: Callable[[], Any], run_compiled: Optional[Callable[[], Any]],
              timeout: int) -> Any:
        self._titus_log.clear()
        result, error = None, None
        try:
            result = run_titus()
        except Exception as raised:
            error = raised
        if run_compiled is not None:
            expected = _bounded(_replay(result, error), None)
            titus_log = list(self._titus_log)
            _COMPILED_LOG.clear()
            self._compiled.set_timeout(timeout if timeout and timeout > 0 else GUARD_MS)
            got = _bounded(lambda _: run_compiled(), None)
            census = self._census
            census.compared += 1
            if what != "action" and expected[0] == got[0] == "value":
                if not same(expected[1], got[1]):  # titus's begin and end return None
                    census.begin_end_values.append((census.current_test, f"{what}: titus returned "
                                                    f"{expected[1]!r:.100}, compiled {got[1]!r:.100}"))
            elif not same_outcome(expected, got):
                census.disagreements.append((census.current_test,
                                             f"{what}: titus {expected!r:.200}, compiled {got!r:.200}"))
            elif not same(titus_log, list(_COMPILED_LOG)):
                census.disagreements.append((census.current_test, f"{what}: titus logged {titus_log!r:.200}, "
                                                                  f"compiled {_COMPILED_LOG!r:.200}"))
        if error is not None:
            raise error
        return result


def _pairing_from_ast(original: Callable[..., List[Any]], census: Census) -> Callable[..., List[Any]]:
    def from_ast(engineConfig, options=None, version=None, sharedState=None, multiplicity=1, style="pure",
                 debug=False):
        engines = original(engineConfig, options, version, sharedState, multiplicity, style, debug)
        census.documents += 1
        compiled = None
        if version is not None:
            census.not_compiled("(the test asks titus for a PFA version of its own)")
        elif sharedState is not None or (len(engines) > 1 and _has_shared_state(engineConfig)):
            census.not_compiled("(cells or pools shared between instances or engines: instance() keeps its own)")
        else:
            document = json.loads(engineConfig.toJson(lineNumbers=False))
            try:
                compiled = compile_document(document, options)
            except Unsupported as why:
                census.not_compiled(str(why))
            except Exception as error:
                census.compiler_failures.append((census.current_test, f"{type(error).__name__}: {error}"[:300]))
        if compiled is None:
            return [PairedEngine(engine, None, census) for engine in engines]
        census.compiled += 1
        census.instances += len(engines)
        census.tests_with_compiled.add(census.current_test)
        return [PairedEngine(engine, compiled.instance(index), census) for index, engine in enumerate(engines)]
    return staticmethod(from_ast)


def _has_shared_state(config: Any) -> bool:
    return any(cell.shared for cell in config.cells.values()) or any(pool.shared for pool in config.pools.values())


class _Naming(unittest.TextTestResult):
    """Tells the census which testGenpy test is running."""

    census: Census

    def startTest(self, test: unittest.TestCase) -> None:
        self.census.current_test = test.id().rsplit(".", 1)[-1]
        super().startTest(test)


@pytest.fixture(scope="module")
def paired_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("titus-documents")
    path = fetch_test_genpy(folder)
    test_genpy = load_test_genpy(path)
    census = Census()
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_genpy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PFAEngine, "fromAst", _pairing_from_ast(PFAEngine.fromAst, census))
        patch.setattr(compiler_program, "genericLog", _compiled_log)
        _Naming.census = census
        with open(folder / "testGenpy.out", "w") as out:
            result = unittest.TextTestRunner(stream=out, verbosity=0, resultclass=_Naming).run(suite)
    report = census.report()
    (folder / "report.txt").write_text(report + "\n")
    print(f"\n{report}\n(written to {folder / 'report.txt'})")
    return result, census


def test_titus_own_tests_still_pass_with_the_compiled_engine_alongside(paired_run):
    result, census = paired_run
    problems = [f"{test}: {trace.strip().splitlines()[-1]}" for test, trace in result.failures + result.errors]
    assert result.testsRun >= 130 and not problems, problems
    assert census.documents >= 300 and census.compiled >= 100, census.report()


def test_every_document_the_compiler_accepts_agrees_with_titus(paired_run):
    _, census = paired_run
    unexpected = [(test, what) for test, what in census.disagreements if test not in KNOWN_DISAGREEMENTS]
    assert not unexpected, "\n".join(f"{test}: {what}" for test, what in unexpected)
    assert census.compared >= 300


def test_the_compiler_refuses_only_with_unsupported(paired_run):
    _, census = paired_run
    assert not census.compiler_failures, census.compiler_failures


def test_begin_and_end_return_what_titus_returns(paired_run):
    _, census = paired_run
    assert not census.begin_end_values, census.begin_end_values


@pytest.mark.parametrize("test_name", sorted(KNOWN_DISAGREEMENTS) or ["(none)"])
def test_known_disagreement(paired_run, test_name, request):
    if test_name == "(none)":
        pytest.skip("no known disagreements")
    request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_DISAGREEMENTS[test_name]))
    _, census = paired_run
    assert not [what for test, what in census.disagreements if test == test_name]
