"""Sanity rules between stages: a stage that runs another one inside it cannot really take less time.

Each rule compares the two medians of the tables and the round-by-round difference of the two stages (same
inputs, same moment). The verdict is stated in the report rather than hidden or corrected:

- ``holds``: the outer stage's median is at least the inner one's;
- ``inverted within noise``: the outer median is lower, but the paired differences straddle zero (their
  quartiles are on both sides of it): the stages cost about the same and noise decided the order;
- ``inverted``: the outer stage was faster in at least three rounds out of four (the paired quartiles are
  both below zero); the measurement itself is suspect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from benchmarks.harness import Samples, paired_difference


@dataclass(frozen=True)
class Rule:
    """``outer`` runs ``inner`` ``times`` times inside it, so it takes at least ``times`` x as long."""

    outer: str
    inner: str
    why: str
    times: int = 1


RULES: List[Rule] = [
    Rule("score", "engine", "score calls the same engine's action, with a lock and error mapping around it"),
    Rule("predict", "score", "predict is validate + score + encode"),
    Rule("handler", "predict", "the handler runs predict on the same model, plus routing, JSON and the log line"),
    Rule("handler", "handler_stubbed", "the same path, with the real engine instead of a constant"),
    Rule("handler_stubbed", "app_stubbed", "the same call, plus the Lambda runtime's JSON decode and encode"),
    Rule("client", "predict", "the test client runs predict on the same model, plus Chalice's local gateway"),
    Rule("handler_compiled", "engine_compiled",
         "the handler of the PFA_ENGINE=compiled runtime runs that same compiled instance's action"),
]
BATCH_PREFIX = "batch_"
COMPILED_BATCH_PREFIX = "batch_compiled_"


def batch_size(stage: str) -> Optional[int]:
    """The batch size of a batch stage (``batch_<size>``, ``batch_compiled_<size>``), else None."""
    if not stage.startswith(BATCH_PREFIX):
        return None
    return int(stage.rsplit("_", 1)[1])
HOLDS, WITHIN_NOISE, INVERTED = "holds", "inverted within noise", "inverted"
VERDICTS = (HOLDS, WITHIN_NOISE, INVERTED)


def rules_for(stages: List[str]) -> List[Rule]:
    """The rules whose stages were measured, with one per batch stage (``batch_<size>``: size x the engine;
    ``batch_compiled_<size>``: size x the compiled engine)."""
    rules = [rule for rule in RULES if rule.outer in stages and rule.inner in stages]
    for name in stages:
        size = batch_size(name)
        compiled = name.startswith(COMPILED_BATCH_PREFIX)
        inner, what = ("engine_compiled", "compiled engine") if compiled else ("engine", "engine")
        if size is not None and inner in stages:
            rules.append(Rule(name, inner, f"a batch of {size} runs the {what} once per record", size))
    return rules


def verdict(outer_median: float, inner_median: float, paired: Mapping[str, Any]) -> str:
    if outer_median >= inner_median:
        return HOLDS
    return WITHIN_NOISE if paired["p25_us"] <= 0 <= paired["p75_us"] else INVERTED


def check(samples: Mapping[str, Samples], medians: Mapping[str, float]) -> List[Dict[str, Any]]:
    """Every rule whose stages were measured: both medians (the inner one times ``times``), the paired difference
    and the verdict."""
    checks = []
    for rule in rules_for(list(samples)):
        paired = paired_difference(samples[rule.outer], samples[rule.inner], times=rule.times)
        if paired is None:
            continue
        inner_median = rule.times * medians[rule.inner]
        checks.append({"outer": rule.outer, "inner": rule.inner, "times": rule.times, "why": rule.why,
                       "outer_median_us": medians[rule.outer], "inner_median_us": inner_median,
                       "paired_difference_us": paired, "verdict": verdict(medians[rule.outer], inner_median, paired)})
    return checks
