"""How much the bench measures (`Plan`: the default run, or --quick) and its timing loop (`timed_rounds`)."""

from __future__ import annotations

import gc
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union


@dataclass(frozen=True)
class Plan:
    """How much to measure: the default run, or --quick."""

    rounds: int  # interleaved rounds, i.e. samples per stage; even, so that every order is also run reversed
    block_us: float  # a sample times at least this much work (a cheap call is repeated to fill it)
    batch_samples: Dict[int, int] = field(default_factory=dict)  # /predict/batch size -> rounds it is timed in
    cold_runs: int = 0  # child processes timed per engine setting (plus as many bare `python -c pass`)
    cold_warmup: bool = False  # one untimed child first, so .pyc files exist
    handler_check_rows: Optional[int] = None  # rows whose handler answer is checked (None: all)
    compiled_batch_samples: Dict[int, int] = field(default_factory=dict)  # the same, PFA_ENGINE=compiled
    forest_trees: int = 100  # the random forest exported by pfactl (seeded)
    forest_rounds: int = 2  # rounds of the forest's engines, each over every Sonar row
    load_runs: int = 1  # in-process loads per model and engine setting (the load-time check's cost)
    stream_samples: Dict[int, int] = field(default_factory=dict)  # queue/stream batch size -> invocations timed
    stream_max_samples: int = 0  # invocations of the largest batch the event source delivers (0: not measured)


FULL = Plan(rounds=60, block_us=2000.0, batch_samples={10: 60, 100: 15, 1000: 3},
            cold_runs=5, cold_warmup=True, handler_check_rows=None,
            compiled_batch_samples={10: 60, 100: 60, 1000: 15}, forest_trees=100, forest_rounds=10, load_runs=5,
            stream_samples={1: 20, 10: 20, 100: 6}, stream_max_samples=2)
QUICK = Plan(rounds=6, block_us=300.0, batch_samples={10: 4, 100: 2},
             cold_runs=1, cold_warmup=False, handler_check_rows=5,
             compiled_batch_samples={10: 4, 100: 2}, forest_trees=20, forest_rounds=2, load_runs=1,
             stream_samples={1: 3, 10: 2, 100: 1}, stream_max_samples=0)

Call = Callable[[Any], Any]
# The round's inputs are spread over the data set: round r starts at input r * STRIDE (mod the number of inputs).
STRIDE = 37


@dataclass(frozen=True)
class Stage:
    """One thing to time: ``call(arg)``, where ``arg`` is ``prepare(index)`` for input ``index`` (untimed), or
    the index itself. ``samples`` limits a slow stage to that many rounds, spread evenly over the run. ``before``
    runs, untimed, before the stage's passes in every round (and before its first estimate): it sets up what
    the stage runs on, e.g. points the app at the runtime of the engine this stage measures."""

    call: Call
    prepare: Optional[Callable[[int], Any]] = None
    samples: Optional[int] = None
    before: Optional[Callable[[], Any]] = None


@dataclass
class Samples:
    """One stage's samples, time per call in microseconds by round number: wall clock, this thread's CPU and
    the whole process's CPU (``process_time``: every thread of it)."""

    calls_per_sample: int
    wall: Dict[int, float] = field(default_factory=dict)
    cpu: Dict[int, float] = field(default_factory=dict)
    process: Dict[int, float] = field(default_factory=dict)

    def summary(self) -> Dict[str, Any]:
        summary = {**summarize(list(self.wall.values())), "cpu": summarize(list(self.cpu.values())),
                   "calls_per_sample": self.calls_per_sample}
        if self.process:
            summary["process_cpu"] = summarize(list(self.process.values()))
        return summary


def summarize(values_us: Sequence[float]) -> Dict[str, Any]:
    ordered = sorted(values_us)
    # "inclusive": quartiles within the samples' range, also for the few samples of a slow stage.
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 3
    return {"median_us": statistics.median(ordered), "p25_us": quartiles[0], "p75_us": quartiles[2],
            "min_us": ordered[0], "samples": len(ordered)}


def paired_difference(outer: Samples, inner: Samples, clock: str = "wall", times: int = 1) -> Optional[Dict[str, Any]]:
    """``outer - times x inner`` round by round, over the rounds both ran in (same inputs, same moment).

    A slow phase of the machine moves both samples of a round together, so the spread of these differences is
    the noise of the comparison itself, much narrower than either stage's own spread."""
    a, b = (outer.wall, inner.wall) if clock == "wall" else (outer.cpu, inner.cpu)
    rounds = sorted(set(a) & set(b))
    if not rounds:
        return None
    differences = [a[round_no] - times * b[round_no] for round_no in rounds]
    summary = summarize(differences)
    summary["outer_slower_share"] = sum(value > 0 for value in differences) / len(differences)
    return summary


def rounds_of(samples: Optional[int], rounds: int) -> List[int]:
    """The rounds a stage limited to ``samples`` runs in, spread evenly (every round when None)."""
    if samples is None or samples >= rounds:
        return list(range(rounds))
    return sorted({(index * rounds + rounds // 2) // samples for index in range(max(1, samples))})


def _per_call_us(stage: Stage, n_inputs: int, budget_us: float) -> float:
    """A first estimate, which also warms the stage up: calls on successive inputs until ``budget_us`` passed."""
    spent_ns, calls = 0, 0
    if stage.before is not None:
        stage.before()
    while calls < 1000 and (calls == 0 or spent_ns < budget_us * 1000):
        arg = stage.prepare(calls % n_inputs) if stage.prepare else calls % n_inputs
        began = time.perf_counter_ns()
        stage.call(arg)
        spent_ns += time.perf_counter_ns() - began
        calls += 1
    return max(spent_ns / calls / 1000, 0.01)


def timed_rounds(stages: Mapping[str, Union[Stage, Call]], n_inputs: int, rounds: int, block_us: float,
                 seed: Optional[int] = None, block: Optional[int] = None) -> Dict[str, Samples]:
    """The time per call of each stage, measured in interleaved rounds on the same inputs.

    Each round takes a block of ``m`` consecutive inputs (``m`` so that the slowest stage's pass over them takes
    about ``block_us``, at least one; or ``block``, when given) and runs every stage on that same block, in a
    fresh random order, and the next round in the reverse of that order; every stage runs before and after every
    other equally often, and a slow phase of a busy machine hits every stage alike. Before its timed passes, each
    stage makes one untimed pass over the block: so every stage is timed warm, as in a run of back-to-back
    requests or within a batch, never on caches just filled by whichever stage ran before it. (With a rotated
    order and no such pass, ``score``, nearly always right after ``engine`` on the same input, came out cheaper
    than the engine inside it, and a batch's records cheaper than one engine call.)

    A cheap stage repeats its pass over the block until it fills about ``block_us``; one sample is the time /
    calls. Before each round, untimed, the garbage of the last one is collected, and the bench's own long-lived
    objects are frozen out of the collector first, so no stage pays for collections that scan the bench's heap
    or another stage's garbage. Each sample is taken twice: wall time (``perf_counter_ns``, the headline) and
    this thread's CPU time (``thread_time_ns``, which leaves out the time other processes held the CPU), and
    the process's CPU time (``process_time_ns``: also any other thread of this process).
    """
    normalized = {name: stage if isinstance(stage, Stage) else Stage(stage) for name, stage in stages.items()}
    budget_us = max(block_us / 4, 50.0)
    per_call = {name: _per_call_us(stage, n_inputs, budget_us) for name, stage in normalized.items()}
    if block is None:
        block = max(1, min(n_inputs, int(block_us / max(per_call.values()))))
    block = max(1, min(n_inputs, block))
    passes = {name: max(1, min(2000 // block, round(block_us / (block * cost)))) for name, cost in per_call.items()}
    schedule = {name: set(rounds_of(stage.samples, rounds)) for name, stage in normalized.items()}
    results = {name: Samples(calls_per_sample=passes[name] * block) for name in normalized}
    order, sequence = random.Random(seed), list(normalized)
    clock, cpu_clock, process_clock = time.perf_counter_ns, time.thread_time_ns, time.process_time_ns
    gc.collect()
    gc.freeze()
    try:
        for round_no in range(rounds):
            start = (round_no * STRIDE) % n_inputs
            indices = [(start + offset) % n_inputs for offset in range(block)]
            if round_no % 2 == 0:
                order.shuffle(sequence)
            else:
                sequence.reverse()
            names = [name for name in sequence if round_no in schedule[name]]
            gc.collect()
            for name in names:
                stage, count = normalized[name], passes[name]
                if stage.before is not None:
                    stage.before()
                args = [stage.prepare(index) for index in indices] if stage.prepare else indices
                call = stage.call
                for arg in args:  # untimed: whatever ran before, the timed passes find this stage's state warm
                    call(arg)
                began, cpu_began, process_began = clock(), cpu_clock(), process_clock()
                for _ in range(count):
                    for arg in args:
                        call(arg)
                process_ended, cpu_ended, ended = process_clock(), cpu_clock(), clock()
                calls = count * block
                results[name].wall[round_no] = (ended - began) / calls / 1000
                results[name].cpu[round_no] = (cpu_ended - cpu_began) / calls / 1000
                results[name].process[round_no] = (process_ended - process_began) / calls / 1000
    finally:
        gc.unfreeze()
    return results
