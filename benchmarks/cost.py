"""`make cost`: what a million predictions cost on Lambda behind API Gateway, from the bench's measurements.

    python -m benchmarks.cost                      # the latest run (.local/bench/results.json), else the
                                                   # reference (benchmarks/reference/); writes .local/bench/cost.md
    python -m benchmarks.cost --results R --out O  # other files

Inputs: the measured duration of one Lambda invocation (the bench's results.json: each model's single request,
and the Sonar model's ``POST /predict/batch`` at batch sizes 10 and 100, timed in the same rounds; batch size 1 is
the Sonar single-request figure itself, so one thing is never priced twice), the function's memory
(``lambda_memory_size`` in ``.chalice/config.json``) and ``PFA_ENGINE`` (its ``environment_variables``; the
service's default, auto, when it sets none), and the prices in ``benchmarks/prices.py``.

Every table prices both engines, row by row: first the one the service runs with that setting (under auto, the
compiled engine, for each model the bench's load check chose it for: the *handler (total), compiled* stage and
``batch_compiled_<n>``), then the other for comparison (titus: *handler* and ``batch_<n>``). A results.json from
before the bench measured the compiled engine (schema 2, as the committed reference may be until it is
regenerated) has titus's figures only: then every table prices titus, and cost.md says so at the top.

The bench runs on one full core; Lambda gives a function CPU in proportion to its memory, one full vCPU at
1,769 MB. The scoring is single-threaded and CPU-bound, so a duration is projected to the configured memory
by dividing by memory / 1,769 MB (at most 1), then rounded up to Lambda's 1 ms billing step. That projection
assumes Lambda's vCPU is as fast as the bench machine's core: a first-order estimate, not a quote.

Also reproduces the published comparison (prices.PUBLISHED_*) as a check of the arithmetic, gives the request
rate at which Lambda costs as much as the always-on instance, and prices the published ingest (50,000 records)
through the app's SQS and Kinesis handlers at each batch size the bench timed them at (results.json's
``streams``): Lambda duration and requests, and the SQS requests of the results queue and of an SQS input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmarks import prices
from benchmarks.results_paths import COST_MD, LATEST_DIR, latest_results, shown
from chalicelib.settings import ENGINE_CHOICES, PFA_ENGINE

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"
DEFAULT_OUT = LATEST_DIR / COST_MD

# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: "at 1,769 MB, a function has the
# equivalent of one vCPU (one vCPU-second of credits per second)".
FULL_VCPU_MB = 1769
MB_PER_GB = 1024
CHALICE_DEFAULT_MEMORY_MB = 128
COST_BATCH_SIZES = (1, 10, 100)
# The always-on instance's capacity, for comparison with the break-even rates: a t2.medium has 2 vCPUs and
# earns CPU credits for a baseline of 20% of each (https://aws.amazon.com/ec2/instance-types/t2/); it can
# burst to 100% while credits last.
INSTANCE_VCPUS = 2
INSTANCE_BASELINE_SHARE = 0.20
SENSITIVITY_MEMORY_MB = (128, 256, 512, 1024, 1769, 3008)
MILLION = Decimal(prices.MILLION)
SECONDS_PER_MONTH = prices.HOURS_PER_MONTH * 3600
AUTO, COMPILED, TITUS = "auto", "compiled", "titus"
# Where each engine's figures are in results.json: the single request's stage (each model's stages), the Sonar
# batches' block, and how cost.md names them (benchmarks/batch.py; not imported: it imports the app).
SINGLE_STAGES = {COMPILED: "handler_compiled", TITUS: "handler"}
BATCH_BLOCKS = {COMPILED: "batch_compiled", TITUS: "batch"}
STAGES_SHOWN = {COMPILED: ("*handler (total), compiled*", "`batch_compiled_<n>`"), TITUS: ("*handler*", "`batch_<n>`")}
# The queue and stream handlers (benchmarks/streams.py): results go out ten to a SendMessageBatch; Lambda's SQS
# pollers receive up to ten messages a call and delete an invocation's messages, ten to a DeleteMessageBatch.
SQS_BATCH_ENTRIES = 10
STREAM_SOURCES = {"sqs": "SQS queue (`score_queue`)", "kinesis": "Kinesis stream (`score_stream`)"}


# ----------------------------------------------------------------------------------------------------------
# The arithmetic
# ----------------------------------------------------------------------------------------------------------


def lambda_memory_mb(config_path: Path = CHALICE_CONFIG, stage: Optional[str] = None) -> int:
    """``lambda_memory_size`` from the Chalice config (the stage's, if it sets one); Chalice's default is 128."""
    config = json.loads(config_path.read_text())
    memory = config.get("lambda_memory_size", CHALICE_DEFAULT_MEMORY_MB)
    if stage is not None:
        memory = config.get("stages", {}).get(stage, {}).get("lambda_memory_size", memory)
    return int(memory)


def engine_setting(config_path: Path = CHALICE_CONFIG, stage: Optional[str] = None) -> str:
    """``PFA_ENGINE`` in the Chalice config's ``environment_variables`` (the stage's over the top ones, as Chalice
    merges them); the service's default, auto, when neither sets it."""
    config = json.loads(config_path.read_text())
    variables = dict(config.get("environment_variables", {}))
    if stage is not None:
        variables.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    value = str(variables.get(PFA_ENGINE, "")).strip().lower() or ENGINE_CHOICES[0]
    if value not in ENGINE_CHOICES:
        raise ValueError(f"{config_path}: {PFA_ENGINE} must be one of {', '.join(ENGINE_CHOICES)}, got {value!r}")
    return value


def cpu_share(memory_mb: int) -> float:
    """The fraction of one vCPU a function of this memory gets."""
    return min(1.0, memory_mb / FULL_VCPU_MB)


def projected_ms(measured_ms: float, memory_mb: int) -> float:
    """A single-threaded, CPU-bound duration measured on one full core, at this memory's CPU share."""
    return measured_ms / cpu_share(memory_mb)


def billed_ms(duration_ms: float) -> int:
    """Lambda's billed duration: rounded up to the billing step (1 ms), at least one step."""
    step = prices.LAMBDA_BILLING_GRANULARITY_MS
    return max(step, math.ceil(duration_ms / step) * step)


def duration_cost(billed: int, memory_mb: int) -> Decimal:
    """The duration charge of one invocation: GB-seconds times the price."""
    return Decimal(billed) / 1000 * Decimal(memory_mb) / MB_PER_GB * prices.LAMBDA_PER_GB_SECOND


@dataclass(frozen=True)
class PerMillion:
    """The cost of one million predictions sent in batches of ``batch`` records, in US dollars."""

    batch: int
    duration_ms: float  # one invocation, as billed before rounding
    billed_ms: int
    invocations: Decimal
    lambda_duration: Decimal
    lambda_requests: Decimal
    api_gateway: Decimal

    @property
    def lambda_total(self) -> Decimal:
        return self.lambda_duration + self.lambda_requests

    @property
    def total(self) -> Decimal:
        return self.lambda_total + self.api_gateway


def per_million(duration_ms: float, batch: int, memory_mb: int) -> PerMillion:
    """One million predictions as ``1e6 / batch`` invocations of ``duration_ms`` each."""
    invocations = MILLION / batch
    billed = billed_ms(duration_ms)
    return PerMillion(batch=batch, duration_ms=duration_ms, billed_ms=billed, invocations=invocations,
                      lambda_duration=duration_cost(billed, memory_mb) * invocations,
                      lambda_requests=prices.LAMBDA_PER_REQUEST * invocations,
                      api_gateway=prices.API_GATEWAY_REST_PER_REQUEST * invocations)


def always_on_monthly() -> Decimal:
    return prices.ALWAYS_ON_PER_HOUR * prices.HOURS_PER_MONTH


def break_even(cost_per_million: Decimal, monthly: Optional[Decimal] = None) -> Dict[str, Decimal]:
    """The steady rate at which pay-per-request costs as much as the always-on instance."""
    monthly = always_on_monthly() if monthly is None else monthly
    per_month = monthly / cost_per_million * MILLION
    return {"predictions_per_month": per_month, "predictions_per_second": per_month / SECONDS_PER_MONTH}


def published_comparison() -> Dict[str, Any]:
    """The published figures, recomputed from their own inputs (prices.PUBLISHED_*)."""
    per_execution = prices.PUBLISHED_COST_PER_EXECUTION
    predictions = Decimal(prices.PUBLISHED_PREDICTIONS)
    implied_gb = per_execution / (prices.PUBLISHED_EXECUTION_SECONDS * prices.LAMBDA_PER_GB_SECOND)
    return {
        "per_execution": per_execution,
        "execution_seconds": prices.PUBLISHED_EXECUTION_SECONDS,
        "predictions": prices.PUBLISHED_PREDICTIONS,
        "batch_costs": {batch: per_execution * predictions / batch for batch in prices.PUBLISHED_BATCH_SIZES},
        "executions": {batch: predictions / batch for batch in prices.PUBLISHED_BATCH_SIZES},
        "instance": prices.ALWAYS_ON_INSTANCE,
        "instance_hourly": prices.ALWAYS_ON_PER_HOUR,
        "instance_monthly": always_on_monthly(),
        # What the per-execution figure means at today's duration price, and what it leaves out.
        "implied_memory_mb": implied_gb * MB_PER_GB,
        "request_charges_left_out": {batch: (prices.LAMBDA_PER_REQUEST + prices.API_GATEWAY_REST_PER_REQUEST)
                                     * predictions / batch for batch in prices.PUBLISHED_BATCH_SIZES},
    }


# ----------------------------------------------------------------------------------------------------------
# From results.json to tables
# ----------------------------------------------------------------------------------------------------------


def compiled_measured(results: Dict[str, Any]) -> bool:
    """Whether the results have the compiled engine's figures: its Sonar batches and every model's single request
    (since results schema 3; earlier runs measured titus only)."""
    return BATCH_BLOCKS[COMPILED] in results and all(
        SINGLE_STAGES[COMPILED] in model["median_us"] for model in results["models"].values())


def served_engine(results: Dict[str, Any], name: str, setting: str = AUTO) -> str:
    """The engine the service answers model ``name`` with under ``setting`` (PFA_ENGINE), among those measured:
    titus when the setting says so or the results have no compiled figures; under auto, the engine the bench's
    load check chose (results' ``engine_check``), compiled when it has no entry for the model."""
    if setting == TITUS or not compiled_measured(results):
        return TITUS
    if setting == AUTO:
        return str(results.get("engine_check", {}).get(name, {}).get("engine", COMPILED))
    return COMPILED


def priced_engines(results: Dict[str, Any], name: str, setting: str = AUTO) -> List[str]:
    """The engines priced for model ``name``: the one that serves it first, then the other, if measured."""
    served = served_engine(results, name, setting)
    measured_ = (COMPILED, TITUS) if compiled_measured(results) else (TITUS,)
    return [served] + [engine for engine in measured_ if engine != served]


def estimate(results: Dict[str, Any], memory_mb: int, clock: str = "cpu", setting: str = AUTO) -> Dict[str, Any]:
    """Every table of cost.md, from the bench's results.

    ``clock`` "cpu" (default) prices the invocations' CPU time, "wall" their wall-clock time. CPU time is the
    work itself; on a shared machine the wall clock adds the time other processes held the CPU, which a
    Lambda function, with its own CPU share, does not wait for. ``setting``, PFA_ENGINE, says which engine's rows
    come first and count as the service's (``"default": True``; ``summary_rows``); every row has its ``engine``.
    """
    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    if setting not in ENGINE_CHOICES:
        raise ValueError(f"setting must be one of {', '.join(ENGINE_CHOICES)}, got {setting!r}")
    batch_key, model_key = ("request_cpu_ms", "cpu_median_us") if clock == "cpu" else ("request_ms", "median_us")
    sonar = results["batch"]["model"]
    engines = priced_engines(results, sonar, setting)
    sizes = {engine: {row["size"]: row for row in results[BATCH_BLOCKS[engine]]["sizes"]} for engine in engines}
    for engine in engines:
        missing = [size for size in COST_BATCH_SIZES if size not in sizes[engine]]
        if missing:
            raise ValueError(f"results.json has no /predict/batch measurement on {engine} for batch sizes {missing}")
    batches = []
    for size in COST_BATCH_SIZES:
        for engine in engines:
            measured = sizes[engine][size][batch_key]
            cost = per_million(projected_ms(measured, memory_mb), size, memory_mb)
            per_core = size * 1000 / measured  # records per second on one full core
            batches.append({"engine": engine, "default": engine == engines[0], "measured_ms": measured,
                            "cost": cost, "break_even": break_even(cost.total),
                            "instance_records_per_s": {"burst": per_core * INSTANCE_VCPUS,
                                                       "baseline": per_core * INSTANCE_VCPUS
                                                       * INSTANCE_BASELINE_SHARE}})
    models = []
    order = {short: index for index, short in enumerate(("toy", "sonar", "iris"))}
    for short, model in sorted(results["models"].items(), key=lambda item: order.get(item[0], len(order))):
        model_engines = priced_engines(results, model["name"], setting)
        for engine in model_engines:
            measured = model[model_key][SINGLE_STAGES[engine]] / 1000
            cost = per_million(projected_ms(measured, memory_mb), 1, memory_mb)
            models.append({"short": short, "name": model["name"], "engine": engine,
                           "default": engine == model_engines[0], "measured_ms": measured, "cost": cost,
                           "break_even": break_even(cost.total)})
    sensitivity = [{"memory_mb": memory, "engine": engine, "default": engine == engines[0],
                    "cost": per_million(projected_ms(sizes[engine][1][batch_key], memory), 1, memory)}
                   for memory in sorted({*SENSITIVITY_MEMORY_MB, memory_mb}) for engine in engines]
    choice = results.get("engine_check", {}).get(sonar)
    return {"memory_mb": memory_mb, "cpu_share": cpu_share(memory_mb), "clock": clock, "setting": setting,
            "engines": engines, "compiled_measured": compiled_measured(results), "schema": results.get("schema"),
            "sonar": sonar, "choice": choice, "batches": batches, "models": models,
            "sensitivity": sensitivity, "init": cold_start_init(results, memory_mb, setting),
            "ingest": ingest(results, memory_mb, clock, setting), "streams_measured": bool(results.get("streams")),
            "published": published_comparison(), "always_on_monthly": always_on_monthly()}


@dataclass(frozen=True)
class IngestCost:
    """What ``records`` records cost through one queue or stream handler in batches of ``batch``, in US dollars."""

    source: str
    batch: int
    records: int
    measured_ms: float  # one invocation's work as measured (CPU, or wall minus the waits on the results queue)
    wait_ms: float  # the time an invocation waited on SendMessageBatch (the local moto's), billed as is
    duration_ms: float  # projected to the memory's CPU share, plus the waits
    billed_ms: int
    invocations: int
    lambda_duration: Decimal
    lambda_requests: Decimal
    results_requests: int
    results: Decimal
    input_requests: int
    input: Decimal

    @property
    def lambda_total(self) -> Decimal:
        return self.lambda_duration + self.lambda_requests

    @property
    def total(self) -> Decimal:
        return self.lambda_total + self.results + self.input


def _calls(records: int, batch: int, per_call: int = SQS_BATCH_ENTRIES) -> int:
    """SQS calls of up to ``per_call`` entries for ``records`` records sent or deleted in invocations of ``batch``."""
    full, rest = divmod(records, batch)
    return full * math.ceil(batch / per_call) + math.ceil(rest / per_call)


def _chunks(payload_bytes: int) -> int:
    """Billed SQS requests for one call carrying ``payload_bytes``: one per 64 KB chunk."""
    return max(1, math.ceil(payload_bytes / prices.SQS_BILLED_CHUNK_BYTES))


def ingest_cost(source: str, row: Dict[str, Any], memory_mb: int, result_bytes: int, message_bytes: int,
                records: int = prices.PUBLISHED_PREDICTIONS, clock: str = "cpu") -> IngestCost:
    """``records`` records through ``source``'s handler in invocations of ``row["size"]`` (a row of results.json's
    ``streams``): Lambda duration and requests, SendMessageBatch of the results, and for an SQS input Lambda's
    ReceiveMessage (ten a call) and DeleteMessageBatch (ten a call, per invocation).

    The measured work is projected to the memory's CPU share; the waits on the results queue (moto's, here) are
    not: waiting gets no faster with more CPU."""
    batch = int(row["size"])
    wait = float(row["sends_wait_ms"])
    work = float(row["request_cpu_ms"]) if clock == "cpu" else float(row["request_ms"]) - wait
    duration = projected_ms(work, memory_mb) + wait
    billed = billed_ms(duration)
    invocations = math.ceil(records / batch)
    results = _calls(records, batch) * _chunks(SQS_BATCH_ENTRIES * result_bytes)
    reads = 0
    if source == "sqs":
        reads = math.ceil(records / SQS_BATCH_ENTRIES) * _chunks(SQS_BATCH_ENTRIES * message_bytes) \
            + _calls(records, batch)
    return IngestCost(source=source, batch=batch, records=records, measured_ms=work, wait_ms=wait,
                      duration_ms=duration, billed_ms=billed, invocations=invocations,
                      lambda_duration=duration_cost(billed, memory_mb) * invocations,
                      lambda_requests=prices.LAMBDA_PER_REQUEST * invocations,
                      results_requests=results, results=prices.SQS_STANDARD_PER_REQUEST * results,
                      input_requests=reads, input=prices.SQS_STANDARD_PER_REQUEST * reads)


def ingest(results: Dict[str, Any], memory_mb: int, clock: str = "cpu", setting: str = AUTO) -> List[Dict[str, Any]]:
    """The published ingest through each source's handler, per batch size and engine (the service's first), beside
    the published figure for that batch size; [] when the results have no queue or stream figures."""
    streams = results.get("streams")
    if not streams:
        return []
    published = published_comparison()["batch_costs"]
    engines = priced_engines(results, streams["model"], setting)
    rows = []
    for source in STREAM_SOURCES:
        measured_rows = [row for row in streams["rows"] if row["source"] == source and row["engine"] in engines]
        for row in sorted(measured_rows, key=lambda row: (row["size"], engines.index(row["engine"]))):
            cost = ingest_cost(source, row, memory_mb, streams["checks"][source][row["engine"]]["result_bytes_max"],
                               streams["message_bytes_max"], clock=clock)
            against = published.get(cost.batch) if not row["largest"] else None
            rows.append({"source": source, "engine": row["engine"], "default": row["engine"] == engines[0],
                         "largest": row["largest"], "cost": cost, "published": against,
                         "ratio": cost.total / against if against else None,
                         "lambda_ratio": cost.lambda_total / against if against else None})
    return rows


def cold_start_init(results: Dict[str, Any], memory_mb: int, setting: str = AUTO) -> List[Dict[str, Any]]:
    """A cold start's init (import + model load, medians) per PFA_ENGINE the bench started a child with, the
    ``setting``'s first: the default child (auto since results schema 3, titus before) and, since schema 3,
    titus's. Each with ``check_ms``, the part of the load that is auto's compile to Python and check."""
    cold = results.get("cold_start", {})
    runs = []
    if cold.get("median"):
        runs.append((AUTO if "pfa_engine" in cold else TITUS, cold["median"]))
    if cold.get("titus", {}).get("median"):
        runs.append((TITUS, cold["titus"]["median"]))
    runs.sort(key=lambda run: run[0] != (TITUS if setting == TITUS else AUTO))
    rows = []
    for pfa_engine, median in runs:
        init_ms = median["import_app_ms"] + median["load_model_ms"]
        rows.append({"pfa_engine": pfa_engine, "init_ms": init_ms, "check_ms": median.get("check_ms", 0.0),
                     "cost": duration_cost(billed_ms(init_ms), memory_mb)})
    return rows


def money(value: Decimal, places: int = 2) -> str:
    """Dollars with at least ``places`` decimals and no trailing zeros beyond them: $0.62, $0.0062, $50.40."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if not isinstance(exponent, int) or exponent > -places:
        normal = normal.quantize(Decimal(1).scaleb(-places))
    return f"${normal:f}"


def dollars(value: Decimal) -> str:
    """A computed cost, to four significant figures (at least cents)."""
    if value == 0:
        return "$0.00"
    digits = max(2, 4 - 1 - math.floor(math.log10(float(value))))
    return f"${value:.{digits}f}"


def _rate(value: Decimal) -> str:
    number = float(value)
    return f"{number:,.0f}" if number >= 100 else f"{number:.3g}"


def measured(ms: float) -> str:
    """A measured duration as both tables print it, so one figure reads the same wherever it appears."""
    return f"{ms:,.3f}"


def engines_note(estimate_: Dict[str, Any], source: str = "results.json") -> str:
    """Which engine the tables price as the service's and why, or that the results have titus's figures only."""
    setting, served, sonar, choice = (estimate_["setting"], estimate_["engines"][0], estimate_["sonar"],
                                      estimate_["choice"])
    if setting == AUTO:
        lead = ("The service's default, `PFA_ENGINE=auto`, serves a model with the compiled engine when the compiler "
                "covers it and, at load, it gives titus's answers (README, *Engines*)")
    else:
        lead = f"The Chalice config sets `PFA_ENGINE={setting}`"
    if not estimate_["compiled_measured"]:
        return (f"**Titus only.** `{source}` has no figures of the compiled engine (results schema "
                f"{estimate_['schema']}, from before the bench measured both engines), so every table prices titus"
                + (f"; {lead[0].lower()}{lead[1:]}, so that is what it runs. " if setting == TITUS else
                   f": not what the service runs by default. {lead}. ")
                + "A fresh `make bench` measures both engines.")
    if setting == AUTO and choice is not None:
        lead += f"; in this run's load check it chose {choice['engine']} for {sonar}: {choice['reason']}"
    others = " and ".join(estimate_["engines"][1:])
    return (f"{lead}. Every table prices both engines, one row each, measured in the same rounds: **{served}**, what "
            f"the service runs, in bold, then {others} for comparison.")


def _engine(row: Dict[str, Any]) -> str:
    return f"**{row['engine']}**" if row["default"] else row["engine"]


def _total(row: Dict[str, Any], cost: PerMillion) -> str:
    return f"**{dollars(cost.total)}**" if row["default"] else dollars(cost.total)


def stages_shown(engines: Sequence[str], batch: bool = True) -> str:
    """The bench's rows each engine's figures come from, as the text above a table names them."""
    return "; ".join(f"{engine}, the bench's {STAGES_SHOWN[engine][0]} row"
                     + (f" and {STAGES_SHOWN[engine][1]}" if batch else "") for engine in engines)


def render(estimate_: Dict[str, Any], results: Dict[str, Any], source: str = "results.json") -> str:
    env = results["environment"]
    published = estimate_["published"]
    memory = estimate_["memory_mb"]
    share = estimate_["cpu_share"]
    monthly = estimate_["always_on_monthly"]
    engines = estimate_["engines"]
    clock_text = ("in CPU time (the work itself, without the waits of a shared machine)"
                  if estimate_["clock"] == "cpu" else "by the wall clock")
    lines = [
        "# Cost per million predictions",
        "",
        f"Written by `make cost` (`python -m benchmarks.cost`) from `{source}` "
        f"({'quick run, rough; ' if results.get('quick') else ''}measured {env['date_utc']} at commit "
        f"`{env['git_commit']}`{' (dirty tree)' if env.get('git_dirty') else ''}) and the prices in "
        "`benchmarks/prices.py`.",
        "",
        engines_note(estimate_, source),
        "",
        f"Prices: AWS public list prices, {prices.REGION}, as of {prices.AS_OF}; re-check them before relying on "
        "these figures:",
        "",
        f"- Lambda (x86): {money(prices.LAMBDA_PER_GB_SECOND, 10)} per GB-second, "
        f"{money(prices.LAMBDA_PER_REQUEST * MILLION)} per million requests, duration rounded up to "
        f"{prices.LAMBDA_BILLING_GRANULARITY_MS} ms ({prices.LAMBDA_PRICING_URL})",
        f"- API Gateway REST API: {money(prices.API_GATEWAY_REST_PER_REQUEST * MILLION)} per million requests "
        f"({prices.API_GATEWAY_PRICING_URL})",
        f"- Always-on: {prices.ALWAYS_ON_INSTANCE} at {money(prices.ALWAYS_ON_PER_HOUR)}/hour x "
        f"{prices.HOURS_PER_MONTH} h = {money(monthly)}/month (the published comparison's figure, not re-checked; "
        f"{prices.ALWAYS_ON_PRICING_URL})",
        "- Free tiers, volume discounts, data transfer and CloudWatch Logs are left out.",
        "",
        "## The published comparison, recomputed",
        "",
        f"{money(published['per_execution'], 7)} per {published['execution_seconds']} s execution, "
        f"{published['predictions']:,} predictions:",
        "",
        "| batch size | executions | cost | request charges it leaves out (Lambda + API Gateway) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for batch, amount in published["batch_costs"].items():
        lines.append(f"| {batch} | {published['executions'][batch]:,.0f} | {money(amount)} | "
                     f"{money(published['request_charges_left_out'][batch])} |")
    lines += [
        "",
        f"Always-on {published['instance']}: {money(published['instance_hourly'])}/hour x {prices.HOURS_PER_MONTH} "
        f"= **{money(published['instance_monthly'])}/month**. At today's duration price the per-execution figure "
        f"is 4 s at about {published['implied_memory_mb']:.0f} MB. Its batch arithmetic assumes an execution "
        "costs the same whatever the batch size, which holds only if scoring is a small part of it; the "
        f"measurements below show it is not, {'on either engine' if len(engines) > 1 else 'for this engine'}.",
        "",
        f"## This service: Sonar at {memory} MB",
        "",
        f"Lambda gives {memory} MB {share:.3f} of a vCPU (one full vCPU at {FULL_VCPU_MB} MB), so the durations "
        f"measured on one full core are divided by {share:.3f} (x{1 / share:.2f}), then rounded up to whole "
        f"milliseconds. Duration: one whole invocation as the bench measured it, {clock_text}: batch size 1 is "
        f"one `POST /models/{estimate_['sonar']}/predict`, larger sizes one "
        f"`POST /models/{estimate_['sonar']}/predict/batch` ({stages_shown(engines)}); batch size 1 is the same "
        "figure as Sonar's row of the same engine under *Each model* below.",
        "",
        "| batch size | engine | measured ms | projected ms | billed ms | Lambda duration | Lambda requests "
        "| API Gateway | total per 1M predictions | Lambda only |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in estimate_["batches"]:
        cost = row["cost"]
        lines.append(f"| {cost.batch} | {_engine(row)} | {measured(row['measured_ms'])} | {cost.duration_ms:.1f} | "
                     f"{cost.billed_ms} | {dollars(cost.lambda_duration)} | {dollars(cost.lambda_requests)} | "
                     f"{dollars(cost.api_gateway)} | {_total(row, cost)} | {dollars(cost.lambda_total)} |")
    lines += [
        "",
        f"## Break-even against an always-on {prices.ALWAYS_ON_INSTANCE} ({money(monthly)}/month)",
        "",
        "Below this steady rate, Lambda + API Gateway costs less than the instance; above it, more.",
        "",
        "| batch size | engine | total per 1M predictions | break-even predictions/month | predictions/second "
        "| instance capacity, records/s: burst / baseline |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in estimate_["batches"]:
        even, capacity = row["break_even"], row["instance_records_per_s"]
        rate = _rate(even["predictions_per_second"])
        lines.append(f"| {row['cost'].batch} | {_engine(row)} | {dollars(row['cost'].total)} | "
                     f"{_rate(even['predictions_per_month'])} | {f'**{rate}**' if row['default'] else rate} | "
                     f"{capacity['burst']:,.0f} / {capacity['baseline']:,.0f} |")
    lines += [
        "",
        f"Capacity: what the instance could score at the same per-record cost, if its cores are as fast as the "
        f"bench's: {INSTANCE_VCPUS} vCPUs at full burst, or at the t2 baseline of "
        f"{INSTANCE_BASELINE_SHARE:.0%} of each. Where the break-even rate is above the baseline capacity, one "
        "instance could not carry the load at which it would start to pay off.",
        "",
        "## Each model, one prediction per request",
        "",
        f"Duration: the whole Lambda invocation of `POST /models/<name>/predict` ({stages_shown(engines, False)}), "
        f"{clock_text}. "
        "Short requests show the 1 ms billing step: a request well under a millisecond is billed as a whole one.",
        "",
        "| model | engine | measured ms | projected ms | billed ms | total per 1M predictions "
        "| break-even predictions/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in estimate_["models"]:
        cost = row["cost"]
        lines.append(f"| {row['name']} | {_engine(row)} | {measured(row['measured_ms'])} | {cost.duration_ms:.1f} | "
                     f"{cost.billed_ms} | {_total(row, cost)} | {_rate(row['break_even']['predictions_per_second'])} |")
    lines += [
        "",
        "## Memory setting (Sonar, batch 1)",
        "",
        "For CPU-bound scoring, memory buys CPU: up to 1,769 MB the duration falls as the price per ms rises, so "
        "the duration charge barely moves; above it a single thread gets no faster and the charge grows.",
        "",
        "| memory MB | engine | projected ms | billed ms | Lambda duration per 1M | total per 1M predictions |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in estimate_["sensitivity"]:
        cost = row["cost"]
        lines.append(f"| {row['memory_mb']} | {_engine(row)} | {cost.duration_ms:.1f} | {cost.billed_ms} | "
                     f"{dollars(cost.lambda_duration)} | {_total(row, cost)} |")
    if estimate_["init"]:
        inits = [f"{row['init_ms']:.0f} ms with {'PFA_ENGINE=' if row['pfa_engine'] == AUTO else ''}{row['pfa_engine']}"
                 + (f", {row['check_ms']:.0f} ms of it the compile to Python and the check against titus"
                    if row["check_ms"] else "") for row in estimate_["init"]]
        costs = [f"{dollars(row['cost'])} with {row['pfa_engine']}" for row in estimate_["init"]]
        lines += [
            "",
            f"A cold start's init (import + model load, measured on a full core: {'; '.join(inits)}) is billed "
            f"like duration on current Lambda pricing: about {' and '.join(costs)} at {memory} MB if init ran at "
            "full speed (more at the memory's CPU share); small unless containers are recycled often.",
        ]
    lines += render_ingest(estimate_, source)
    lines.append("")
    return "\n".join(lines)


def render_ingest(estimate_: Dict[str, Any], source: str = "results.json") -> List[str]:
    """The published ingest through the queue and stream handlers, beside the published figures."""
    published = estimate_["published"]
    records = published["predictions"]
    lines = ["", f"## An ingest of {records:,} records from a queue or a stream", ""]
    if not estimate_["streams_measured"]:
        return lines + [f"`{source}` has no figures of the queue and stream handlers (results schema "
                        f"{estimate_['schema']}); a fresh `make bench` measures them."]
    memory, share = estimate_["memory_mb"], estimate_["cpu_share"]
    measured_text = ("an invocation's CPU time" if estimate_["clock"] == "cpu"
                     else "an invocation's wall-clock time less those waits")
    calls = records // SQS_BATCH_ENTRIES
    wait_cost = duration_cost(10, memory) * calls
    lines += [
        f"The published setup: a Lambda function triggered by a Kinesis stream, {records:,} records in batches of "
        + ", ".join(str(size) for size in published["batch_costs"]) + f", about {published['execution_seconds']} s "
        "an invocation because the model was loaded on every call: "
        + " / ".join(money(amount) for amount in published["batch_costs"].values()) + " (Lambda duration only: "
        "*Lambda only, x published* compares like with like). "
        "Here the model stays loaded in the container and an invocation is the handler's own work, as the bench "
        "timed `score_queue` and `score_stream` at each batch size (*Queue and stream scoring* in results.md), "
        "results-queue sends included, one Sonar record a message.",
        "",
        f"Duration: {measured_text}, divided by {share:.3f} ({memory} MB's CPU share), plus the time it waited on "
        "SendMessageBatch (*waits*, not projected: waiting does not speed up with CPU). Those waits are the local "
        "moto's, several ms a call; SQS's own latency is not measured here. Each 10 ms of waiting a call adds "
        f"{dollars(wait_cost)} to the ingest at {calls:,} calls (batches of ten or more), ten times that at "
        "batch size 1.",
        "",
        f"Requests: Lambda's, one per invocation; the results queue's, a SendMessageBatch per ten results "
        f"({calls:,} calls from batches of ten up); for an SQS input, Lambda's pollers' ReceiveMessage of ten and "
        "a DeleteMessageBatch per ten messages of each invocation (an invocation of one message deletes it alone). "
        f"SQS bills each 64 KB of a call's payload as a request, {money(prices.SQS_STANDARD_PER_REQUEST * MILLION)} "
        f"per million for a standard queue ({prices.SQS_PRICING_URL}, as of {prices.SQS_AS_OF}). The largest "
        "batch is the largest a mapping delivers of these messages (the 6 MB payload): the published figures "
        "have no row for it.",
        "",
        "| source | batch size | engine | invocations | measured ms | waits ms | billed ms | Lambda duration "
        "| Lambda requests | SQS: results (requests) | SQS: input (requests) | total | published | x published "
        "| Lambda only, x published |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in estimate_["ingest"]:
        cost = row["cost"]
        size = f"{cost.batch:,}" + (" (largest)" if row["largest"] else "")
        inputs = f"{dollars(cost.input)} ({cost.input_requests:,})" if cost.source == "sqs" else "not priced"
        ratio, lambda_ratio = (f"{row[key]:.3g}x" if row[key] is not None else "-" for key in ("ratio", "lambda_ratio"))
        lines.append(f"| {STREAM_SOURCES[cost.source]} | {size} | {_engine(row)} | {cost.invocations:,} | "
                     f"{measured(cost.measured_ms)} | {cost.wait_ms:,.1f} | {cost.billed_ms:,} | "
                     f"{dollars(cost.lambda_duration)} | {dollars(cost.lambda_requests)} | "
                     f"{dollars(cost.results)} ({cost.results_requests:,}) | {inputs} | {_total(row, cost)} | "
                     f"{money(row['published']) if row['published'] is not None else '-'} | {ratio} | "
                     f"{lambda_ratio} |")
    lines += [
        "",
        "Left out: the producer's own calls (PutRecords, or for a queue SendMessageBatch of ten: another "
        f"{calls:,} SQS requests, {dollars(prices.SQS_STANDARD_PER_REQUEST * calls)}); the Kinesis stream itself "
        "(on demand: per stream-hour and per GB written "
        "and read; provisioned: per shard-hour and per million PUT payload units), so the Kinesis rows price "
        "Lambda and the results queue only; the pollers' empty receives while a queue is idle; the dead-letter "
        "queue; the free tiers (a million SQS requests and Lambda's allowance a month); data transfer; cold "
        "starts (one per container, see above).",
    ]
    return lines


def load_results(path: Optional[Path]) -> Tuple[Path, Dict[str, Any]]:
    """The results to price and where they came from: ``path``, or the latest run's, else the reference's
    (running the bench first, into the latest run's folder, when there is neither)."""
    if path is None:
        path = latest_results()
        if not path.exists():
            print("[cost] no bench results yet: running the bench first", file=sys.stderr, flush=True)
            from benchmarks import bench  # heavy: imports the app

            bench.main([])
            path = latest_results()
    results: Dict[str, Any] = json.loads(path.read_text())
    return path, results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=None,
                        help="the bench's results.json (default: the latest run's, else the reference run's)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the markdown tables")
    parser.add_argument("--config", type=Path, default=CHALICE_CONFIG,
                        help="the Chalice config to read memory and PFA_ENGINE from")
    parser.add_argument("--stage", default=None,
                        help="a Chalice stage whose lambda_memory_size and PFA_ENGINE override the top ones")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="price the measured CPU time (default) or wall-clock time")
    args = parser.parse_args(argv)
    if args.results is not None and not args.results.is_file():
        parser.error(f"--results {args.results}: no such file; `make bench` writes {shown(LATEST_DIR)}/results.json")
    results_path, results = load_results(args.results)
    estimate_ = estimate(results, lambda_memory_mb(args.config, args.stage), args.clock,
                         engine_setting(args.config, args.stage))
    if not estimate_["compiled_measured"]:
        print(f"[cost] {shown(results_path)} has no figures of the compiled engine (results schema "
              f"{estimate_['schema']}): pricing titus's", file=sys.stderr, flush=True)
    text = render(estimate_, results, shown(results_path))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print(f"Wrote {args.out}")
    return 0


def summary_rows(estimate_: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The headline numbers, the engine the service runs (the bold rows), for callers that want them without the
    markdown."""
    return [{"batch": row["cost"].batch, "engine": row["engine"], "total_per_million": row["cost"].total,
             "break_even_per_second": row["break_even"]["predictions_per_second"]}
            for row in estimate_["batches"] if row["default"]]


if __name__ == "__main__":
    sys.exit(main())
