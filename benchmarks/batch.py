"""Batch throughput (Sonar): whole Lambda invocations of POST /models/<name>/predict/batch, timed as stages of the
same interleaved rounds as the single request they are compared with (the *handler* stage: one record per
request). So batch size 1 is that one measurement, not another one of its own. The same again on the runtime
built with PFA_ENGINE=compiled (``batch_compiled_<size>``, against ``handler_compiled``)."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Dict, List, Mapping, Optional

from benchmarks.containment import BATCH_PREFIX, COMPILED_BATCH_PREFIX
from benchmarks.harness import Stage
from benchmarks.lambda_events import answer_of, api_event, invoke

SINGLE_STAGE = "handler"
COMPILED_SINGLE_STAGE = "handler_compiled"


def stage_name(size: int, prefix: str = BATCH_PREFIX) -> str:
    return f"{prefix}{size}"


def batch_stages(name: str, records: List[Any], answers: List[Any], samples: Mapping[int, int],
                 prefix: str = BATCH_PREFIX, before: Optional[Callable[[], Any]] = None) -> Dict[str, Stage]:
    """One stage per batch size: the batch of ``size`` records starting at the round's record, as one invocation.

    Each size is checked once, untimed, to answer what the engine answers for every record of its batch.
    ``before`` points the app at the runtime the batches are measured on (see ``Stage.before``)."""
    count = len(records)
    path, resource = f"/models/{name}/predict/batch", "/models/{name}/predict/batch"

    def rows(start: int, size: int) -> List[int]:
        return [(start + offset) % count for offset in range(size)]

    def event(start: int, size: int) -> str:
        body = json.dumps({"records": [records[i] for i in rows(start, size)]})
        return api_event(path, resource, body, {"name": name})

    stages = {}
    for size, rounds in sorted(samples.items()):
        if before is not None:
            before()
        status, body = answer_of(invoke(event(0, size)))
        if status != 200 or body["errors"] or body["predictions"] != [answers[i] for i in rows(0, size)]:
            raise RuntimeError(f"{prefix}{size}: answered {status}, errors {body.get('errors')}")
        stages[stage_name(size, prefix)] = Stage(invoke, prepare=functools.partial(event, size=size),
                                                 samples=rounds, before=before)
    return stages


def batch_figures(model: Mapping[str, Any], sizes: List[int], engine: str = "titus") -> Dict[str, Any]:
    """Records/s per batch size against single requests, from the stages' medians (``model``: bench_model's).

    ``engine`` "titus": the ``batch_<size>`` stages against ``handler``; "compiled": ``batch_compiled_<size>``
    against ``handler_compiled``. CPU is this thread's (``cpu``) and the whole process's (``process_cpu``,
    ``time.process_time``)."""
    single_stage, prefix = (COMPILED_SINGLE_STAGE, COMPILED_BATCH_PREFIX) if engine == "compiled" \
        else (SINGLE_STAGE, BATCH_PREFIX)

    def figures(size: int, stage: str) -> Dict[str, Any]:
        timing = model["stages"][stage]
        request_ms, cpu_ms = timing["median_us"] / 1000, timing["cpu"]["median_us"] / 1000
        process_ms = timing["process_cpu"]["median_us"] / 1000
        return {"size": size, "stage": stage, "requests": timing["samples"], "request_ms": request_ms,
                "ms_per_record": request_ms / size, "records_per_s": size * 1000 / request_ms,
                "request_cpu_ms": cpu_ms, "cpu_ms_per_record": cpu_ms / size,
                "records_per_cpu_s": size * 1000 / cpu_ms,
                "request_process_cpu_ms": process_ms, "records_per_process_cpu_s": size * 1000 / process_ms}

    single = figures(1, single_stage)
    rows = [single] + [figures(size, stage_name(size, prefix)) for size in sorted(sizes)]
    for row in rows:
        row["ratio_to_single"] = row["records_per_s"] / single["records_per_s"]
        row["cpu_ratio_to_single"] = row["records_per_cpu_s"] / single["records_per_cpu_s"]
        row["process_cpu_ratio_to_single"] = row["records_per_process_cpu_s"] / single["records_per_process_cpu_s"]
    return {"route": f"POST /models/{model['name']}/predict/batch", "model": model["name"], "engine": engine,
            "single": {"route": f"POST /models/{model['name']}/predict", **single}, "sizes": rows}
