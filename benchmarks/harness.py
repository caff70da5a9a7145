"""How much the bench measures (`Plan`: the default run, or --quick) and its timing loop (`timed_rounds`)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence


@dataclass(frozen=True)
class Plan:
    """How much to measure: the default run, or --quick."""

    rounds: int  # interleaved rounds, i.e. samples per stage
    block_us: float  # a sample times at least this much work (a cheap call is repeated to fill it)
    batch_reps: Dict[int, int] = field(default_factory=dict)  # /predict/batch size -> requests timed
    single_reps: int = 0  # /predict requests timed, the batch baseline
    cold_runs: int = 0  # child processes timed (plus as many bare `python -c pass`)
    cold_warmup: bool = False  # one untimed child first, so .pyc files exist
    handler_check_rows: Optional[int] = None  # rows whose handler answer is checked (None: all)


FULL = Plan(rounds=61, block_us=2000.0, batch_reps={1: 60, 10: 20, 100: 7, 1000: 3}, single_reps=60,
            cold_runs=5, cold_warmup=True, handler_check_rows=None)
QUICK = Plan(rounds=5, block_us=300.0, batch_reps={1: 3, 10: 2, 100: 1}, single_reps=3,
             cold_runs=1, cold_warmup=False, handler_check_rows=5)


Call = Callable[[int], Any]


def summarize(values_us: Sequence[float]) -> Dict[str, Any]:
    ordered = sorted(values_us)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {"median_us": statistics.median(ordered), "p25_us": quartiles[0], "p75_us": quartiles[2],
            "min_us": ordered[0], "samples": len(ordered)}


def _calls_per_block(call: Call, n_inputs: int, block_us: float) -> int:
    estimates = []
    for index in range(5):
        began = time.perf_counter_ns()
        call(index % n_inputs)
        estimates.append((time.perf_counter_ns() - began) / 1000)
    per_call = max(statistics.median(estimates), 0.01)
    return max(1, min(2000, int(block_us / per_call)))


def timed_rounds(stages: Mapping[str, Call], n_inputs: int, rounds: int, block_us: float) -> Dict[str, Any]:
    """The time per call of each stage, measured in interleaved rounds.

    A stage is ``call(index)`` on input ``index``. Each round runs every stage once on a block of ``k``
    consecutive inputs (``k`` fixed up front so that a block takes about ``block_us``; at least one call),
    timed as a whole; one sample is the block's time / k. The order of the stages rotates from round to round
    and each round starts at another input, so a slow phase of a busy machine hits every stage alike.
    Each sample is taken twice: wall time (``perf_counter_ns``, the headline) and this thread's CPU time
    (``thread_time_ns``, which leaves out the time other processes held the CPU).
    """
    per_block = {name: _calls_per_block(call, n_inputs, block_us) for name, call in stages.items()}
    wall: Dict[str, List[float]] = {name: [] for name in stages}
    cpu: Dict[str, List[float]] = {name: [] for name in stages}
    names = list(stages)
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    start = 0
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            call, count = stages[name], per_block[name]
            indices = [(start + offset) % n_inputs for offset in range(count)]
            began, cpu_began = clock(), cpu_clock()
            for index in indices:
                call(index)
            cpu_ended, ended = cpu_clock(), clock()
            wall[name].append((ended - began) / count / 1000)
            cpu[name].append((cpu_ended - cpu_began) / count / 1000)
        start = (start + 37) % n_inputs
    return {name: {**summarize(wall[name]), "cpu": summarize(cpu[name]), "calls_per_sample": per_block[name]}
            for name in stages}
