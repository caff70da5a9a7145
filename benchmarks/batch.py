"""Batch throughput: records/s through whole Lambda invocations of POST /predict/batch, per batch size."""

from __future__ import annotations

import gc
import json
import statistics
import time
from typing import Any, Dict, List, Tuple

from benchmarks.examples import DEFAULT_MODEL
from benchmarks.harness import Plan
from benchmarks.lambda_events import answer_of, api_event, invoke


def bench_batch(records: List[Any], answers: List[Any], plan: Plan) -> Dict[str, Any]:
    """Records/s through POST /predict/batch per batch size, against single POST /predict requests."""
    count = len(records)
    single_events = [(api_event("/predict", "/predict", json.dumps(records[i])), [answers[i]]) for i in range(count)]
    batches: Dict[int, List[Tuple[str, List[Any]]]] = {}
    for size, reps in plan.batch_reps.items():
        variants = []
        for variant in range(min(reps, 3)):
            rows = [(variant * 53 + offset) % count for offset in range(size)]
            body = json.dumps({"records": [records[i] for i in rows]})
            variants.append((api_event("/predict/batch", "/predict/batch", body), [answers[i] for i in rows]))
        batches[size] = variants

    def timed(event: str, expected: List[Any], is_batch: bool) -> Tuple[float, float]:
        began, cpu_began = time.perf_counter_ns(), time.thread_time_ns()
        text = invoke(event)
        cpu_ms, wall_ms = (time.thread_time_ns() - cpu_began) / 1e6, (time.perf_counter_ns() - began) / 1e6
        status, body = answer_of(text)
        got = body.get("predictions") if is_batch else [body.get("prediction")]
        if status != 200 or got != expected or (is_batch and body["errors"]):
            raise RuntimeError(f"batch of {len(expected)}: answered {status}, errors {body.get('errors')}")
        return wall_ms, cpu_ms

    samples: Dict[int, List[Tuple[float, float]]] = {size: [] for size in batches}
    single_samples: List[Tuple[float, float]] = []
    gc.collect()
    for rep in range(max([plan.single_reps, *plan.batch_reps.values()])):
        if rep < plan.single_reps:
            event, expected = single_events[(rep * 37) % count]
            single_samples.append(timed(event, expected, False))
        for size, variants in batches.items():
            if rep < plan.batch_reps[size]:
                event, expected = variants[rep % len(variants)]
                samples[size].append(timed(event, expected, True))

    def figures(size: int, values: List[Tuple[float, float]]) -> Dict[str, Any]:
        request_ms = statistics.median(wall for wall, _ in values)
        cpu_ms = statistics.median(cpu for _, cpu in values)
        return {"size": size, "requests": len(values), "request_ms": request_ms, "ms_per_record": request_ms / size,
                "records_per_s": size * 1000 / request_ms, "request_cpu_ms": cpu_ms,
                "cpu_ms_per_record": cpu_ms / size, "records_per_cpu_s": size * 1000 / cpu_ms}

    single = figures(1, single_samples)
    sizes = []
    for size, values in sorted(samples.items()):
        row = figures(size, values)
        row["ratio_to_single"] = row["records_per_s"] / single["records_per_s"]
        row["cpu_ratio_to_single"] = row["records_per_cpu_s"] / single["records_per_cpu_s"]
        sizes.append(row)
    return {"route": "POST /predict/batch", "model": DEFAULT_MODEL,
            "single": {"route": "POST /predict", **single}, "sizes": sizes}
