"""``stat.sample.*``: running statistics of samples, ported from titus ``lib/stat/sample.py``.

titus writes several of these calls inline (``update``, ``updateWindow``, ``updateEWMA``, the
Holt-Winters forecasts, ``fillHistogram``, ``fillHistogram2d``): it looks at the state record's
fields at compile time and passes what it found (a level, flags) to the runtime function. The
emitters here make the same choices at compile time and pick a helper for them; the helpers do
titus's arithmetic in titus's order (``div`` included: x/0 is +-inf or NaN), so results are exact.
A record type titus refuses at compile time is left to titus (the emitter returns ``None``).
"""

import math  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
from functools import reduce
from typing import Any, Callable, Dict, List, Optional

from .arithmetic import div as _div
from .registry import Site, native
from .types import AvroArray, AvroBoolean, AvroDouble, AvroInt, AvroNull, AvroUnion

from titus.errors import PFARuntimeException

INT_MIN, INT_MAX = -2147483648, 2147483647


def _error(message: str, code: int, name: str) -> PFARuntimeException:
    return PFARuntimeException(message, code, name, None)




def _record(avro_type: Any) -> Any:
    if isinstance(avro_type, AvroUnion):
        for t in avro_type.types:
            if not isinstance(t, AvroNull):
                return t
    return avro_type


def _fields(avro_type: Any) -> Dict[str, Any]:
    return {f.name: f.avroType for f in avro_type.fields}


def _mean_variance_level(record: Any) -> Optional[int]:
    """titus's level for ``update``/``updateWindow``: 0 count only, 1 with mean, 2 with variance too."""
    fields = _fields(record)
    for name in ("mean", "variance"):
        if name in fields and not fields[name].accepts(AvroDouble()):
            return None
    has_mean, has_variance = "mean" in fields, "variance" in fields
    if has_variance and not has_mean:
        return None
    return 2 if has_variance else 1 if has_mean else 0


# ------------------------------------------------------------------ update

def _update0(x: Any, w: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    return dict(state, count=state["count"] + w)


def _update1(x: Any, w: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    count = state["count"] + w
    mean = state["mean"]
    mean += _div((x - mean) * w, count)
    return dict(state, count=count, mean=mean)


def _update2(x: Any, w: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    original_count = state["count"]
    count = original_count + w
    mean = state["mean"]
    delta = x - mean
    shift = _div(delta * w, count)
    mean += shift
    variance_times_count = state["variance"] * original_count
    variance_times_count += original_count * delta * shift
    return dict(state, count=count, mean=mean, variance=_div(variance_times_count, count))


@native("stat.sample.update")
def _emit_update(site: Site) -> Optional[str]:
    level = _mean_variance_level(_record(site.param_types[2]))
    if level is None:
        return None
    return site.call((_update0, _update1, _update2)[level])


# ------------------------------------------------------------------ updateCovariance

def _update_covariance(x: Any, w: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    size = len(x)
    if size < 2:
        raise _error("too few components", 14011, "stat.sample.updateCovariance")
    old_count = state["count"]
    old_mean = state["mean"]
    old_covariance = state["covariance"]
    if size != len(old_mean) or size != len(old_covariance) or any(size != len(xi) for xi in old_covariance):
        raise _error("unequal length arrays", 14012, "stat.sample.updateCovariance")
    new_count = old_count + w
    new_mean = [oldm + _div((x[i] - oldm) * w, new_count) for i, oldm in enumerate(old_mean)]
    new_covariance = []
    for i in range(size):
        row = []
        for j in range(size):
            row.append(_div((old_covariance[i][j] * old_count)
                            + _div((x[i] - old_mean[i]) * (x[j] - old_mean[j]) * w * old_count, new_count), new_count))
        new_covariance.append(row)
    return dict(state, count=new_count, mean=new_mean, covariance=new_covariance)


def _union_of_keys(maps: Any) -> Any:
    return reduce(lambda a, b: a.union(b), (set(v.keys()) for v in list(maps.values())), set())


def _update_covariance_map(x: Any, w: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    if len(x) < 2:
        raise _error("too few components", 14011, "stat.sample.updateCovariance")
    old_count = state["count"]
    old_mean = state["mean"]
    old_covariance = state["covariance"]
    count_keys = set(old_count.keys()).union(_union_of_keys(old_count))
    covar_keys = set(old_covariance.keys()).union(_union_of_keys(old_covariance))
    keys = set(x.keys()).union(count_keys).union(covar_keys)  # the same sets as titus's, so the same order
    new_count = {}
    for i in keys:
        row = {}
        for j in keys:
            old = old_count.get(i, {}).get(j, 0.0)
            row[j] = old + w if (i in x) and (j in x) else old
        new_count[i] = row
    new_mean = {}
    for i in keys:
        old = old_mean.get(i, 0.0)
        new_mean[i] = old + _div((x[i] - old) * w, new_count[i][i]) if i in x else old
    new_covariance = {}
    for i in keys:
        row = {}
        for j in keys:
            old_cov = old_covariance.get(i, {}).get(j, 0.0)
            if (i in x) and (j in x):
                old_c = old_count.get(i, {}).get(j, 0.0)
                old_mi = old_mean.get(i, 0.0)
                old_mj = old_mean.get(j, 0.0)
                row[j] = _div(((old_cov * old_c) + _div((x[i] - old_mi) * (x[j] - old_mj) * w * old_c,
                                                        new_count[i][j])), new_count[i][j])
            else:
                row[j] = old_cov
        new_covariance[i] = row
    return dict(state, count=new_count, mean=new_mean, covariance=new_covariance)


@native("stat.sample.updateCovariance")
def _emit_update_covariance(site: Site) -> str:
    return site.call(_update_covariance if isinstance(site.param_types[0], AvroArray) else _update_covariance_map)


# ------------------------------------------------------------------ updateWindow

def _window_helper(level: int, fields: List[str]) -> Callable[..., List[Dict[str, Any]]]:
    known = all(name in ("x", "w", "count", "mean", "variance") for name in fields)

    def first(x: Any, w: Any) -> List[Dict[str, Any]]:
        if not known:
            raise _error("cannot initialize unrecognized fields", 14021, "stat.sample.updateWindow")
        initial = {"x": x, "w": w, "count": w, "mean": x, "variance": 0.0}
        return [{name: initial[name] for name in fields}]

    def update_window(x: Any, w: Any, state: List[Dict[str, Any]], window_size: int) -> List[Dict[str, Any]]:
        if window_size < 2:
            raise _error("windowSize must be at least 2", 14020, "stat.sample.updateWindow")
        if len(state) == 0:
            return first(x, w)
        record = state[-1]
        original_count = record["count"]
        count = original_count + w
        if len(state) >= window_size:
            split_at = len(state) - window_size + 1
            remove, keep = state[:split_at], state[split_at:]
            oldx = [xi["x"] for xi in remove]
            oldw = [-xi["w"] for xi in remove]
            count2 = count + sum(oldw)
            if level == 0:
                return keep + [dict(record, x=x, w=w, count=count2)]
            mean = record["mean"]
            delta = x - mean
            shift = _div(delta * w, count)
            mean += shift
            accumulated_count = count
            variance_correction = 0.0
            for ox, ow in zip(oldx, oldw, strict=True):
                accumulated_count += ow
                delta2 = ox - mean
                shift2 = _div(delta2 * ow, accumulated_count)
                mean += shift2
                variance_correction += (accumulated_count - ow) * delta2 * shift2
            if level == 1:
                return keep + [dict(record, x=x, w=w, count=count2, mean=mean)]
            variance_times_count = record["variance"] * original_count
            variance_times_count += original_count * delta * shift
            variance_times_count += variance_correction
            return keep + [dict(record, x=x, w=w, count=count2, mean=mean,
                                variance=_div(variance_times_count, count2))]
        if level == 0:
            return state + [dict(record, x=x, w=w, count=count)]
        mean = record["mean"]
        delta = x - mean
        shift = _div(delta * w, count)
        mean += shift
        if level == 1:
            return state + [dict(record, x=x, w=w, count=count, mean=mean)]
        variance_times_count = record["variance"] * original_count
        variance_times_count += original_count * delta * shift
        return state + [dict(record, x=x, w=w, count=count, mean=mean, variance=_div(variance_times_count, count))]
    return update_window


@native("stat.sample.updateWindow")
def _emit_update_window(site: Site) -> Optional[str]:
    record = site.param_types[2].items
    level = _mean_variance_level(record)
    if level is None:
        return None
    return site.call(_window_helper(level, [f.name for f in record.fields]))


# ------------------------------------------------------------------ updateEWMA and Holt-Winters

def _update_ewma(x: Any, alpha: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    if alpha < 0.0 or alpha > 1.0:
        raise _error("alpha out of range", 14030, "stat.sample.updateEWMA")
    mean = state["mean"]
    return dict(state, mean=(mean + alpha * (x - mean)))


def _update_ewma_variance(x: Any, alpha: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    if alpha < 0.0 or alpha > 1.0:
        raise _error("alpha out of range", 14030, "stat.sample.updateEWMA")
    mean = state["mean"]
    diff = x - mean
    incr = alpha * diff
    variance = state["variance"]
    return dict(state, mean=(mean + incr), variance=((1.0 - alpha) * (variance + diff * incr)))


@native("stat.sample.updateEWMA")
def _emit_update_ewma(site: Site) -> Optional[str]:
    fields = _fields(_record(site.param_types[2]))
    if "variance" in fields and not fields["variance"].accepts(AvroDouble()):
        return None
    return site.call(_update_ewma_variance if "variance" in fields else _update_ewma)


def _check_unit(value: Any, what: str, code: int, name: str) -> None:
    if value < 0.0 or value > 1.0:
        raise _error(f"{what} out of range", code, name)


def _update_holt_winters(x: Any, alpha: Any, beta: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    _check_unit(alpha, "alpha", 14040, "stat.sample.updateHoltWinters")
    _check_unit(beta, "beta", 14041, "stat.sample.updateHoltWinters")
    level_prev = state["level"]
    trend_prev = state["trend"]
    level = alpha * x + (1.0 - alpha) * (level_prev + trend_prev)
    trend = beta * (level - level_prev) + (1.0 - beta) * trend_prev
    return dict(state, level=level, trend=trend)


def _update_holt_winters_periodic(x: Any, alpha: Any, beta: Any, gamma: Any, state: Dict[str, Any]) -> Dict[str, Any]:
    name = "stat.sample.updateHoltWintersPeriodic"
    _check_unit(alpha, "alpha", 14050, name)
    _check_unit(beta, "beta", 14051, name)
    _check_unit(gamma, "gamma", 14052, name)
    level_prev = state["level"]
    trend_prev = state["trend"]
    cycle_unrotated = state["cycle"]
    if len(cycle_unrotated) == 0:
        raise _error("empty cycle", 14053, name)
    cycle_rotated = cycle_unrotated[1:] + [cycle_unrotated[0]]
    cycle_prev = cycle_rotated[0]
    if state["multiplicative"]:
        level = _div(alpha * x, cycle_prev) + (1.0 - alpha) * (level_prev + trend_prev)
        trend = beta * (level - level_prev) + (1.0 - beta) * trend_prev
        cycle = _div(gamma * x, level) + (1.0 - gamma) * cycle_prev
    else:
        level = alpha * (x - cycle_prev) + (1.0 - alpha) * (level_prev + trend_prev)
        trend = beta * (level - level_prev) + (1.0 - beta) * trend_prev
        cycle = gamma * (x - level) + (1.0 - gamma) * cycle_prev
    return dict(state, level=level, trend=trend, cycle=([cycle] + cycle_rotated[1:]))


@native("stat.sample.updateHoltWinters")
def _emit_update_holt_winters(site: Site) -> str:
    return site.call(_update_holt_winters)


@native("stat.sample.updateHoltWintersPeriodic")
def _emit_update_holt_winters_periodic(site: Site) -> str:
    return site.call(_update_holt_winters_periodic)


def _has_cycle(record: Any) -> Optional[bool]:
    """titus's check of the forecasts' state record: a cycle and multiplicative flag, or neither."""
    fields = _fields(record)
    if "cycle" in fields and not fields["cycle"].accepts(AvroArray(AvroDouble())):
        return None
    if "multiplicative" in fields and not fields["multiplicative"].accepts(AvroBoolean()):
        return None
    if ("cycle" in fields) != ("multiplicative" in fields):
        return None
    return "cycle" in fields


def _forecast1(state: Dict[str, Any]) -> Any:
    return state["level"] + state["trend"]


def _forecast1_periodic(state: Dict[str, Any]) -> Any:
    level = state["level"]
    trend = state["trend"]
    cycle = state["cycle"]
    length = len(cycle)
    if length == 0:
        raise _error("empty cycle", 14060, "stat.sample.forecast1HoltWinters")
    if state["multiplicative"]:
        return (level + trend) * cycle[1 % length]
    return level + trend + cycle[1 % length]


def _forecast(n: int, state: Dict[str, Any]) -> List[Any]:
    level = state["level"]
    trend = state["trend"]
    return [level + i * trend for i in range(1, n + 1)]


def _forecast_periodic(n: int, state: Dict[str, Any]) -> List[Any]:
    level = state["level"]
    trend = state["trend"]
    cycle = state["cycle"]
    length = len(cycle)
    if length == 0:
        raise _error("empty cycle", 14070, "stat.sample.forecastHoltWinters")
    if state["multiplicative"]:
        return [(level + i * trend) * cycle[i % length] for i in range(1, n + 1)]
    return [level + i * trend + cycle[i % length] for i in range(1, n + 1)]


@native("stat.sample.forecast1HoltWinters")
def _emit_forecast1(site: Site) -> Optional[str]:
    periodic = _has_cycle(site.param_types[0])
    if periodic is None:
        return None
    return site.call(_forecast1_periodic if periodic else _forecast1)


@native("stat.sample.forecastHoltWinters")
def _emit_forecast(site: Site) -> Optional[str]:
    periodic = _has_cycle(site.param_types[1])
    if periodic is None:
        return None
    return site.call(_forecast_periodic if periodic else _forecast)


# ------------------------------------------------------------------ histograms

def _flows(histogram: Dict[str, Any], w: Any, new_values: Any, present: List[str], hits: Dict[str, bool]) -> Any:
    """titus's ``updateHistogram``: the new values, and ``w`` added to the flow that was hit."""
    updator = {"values": new_values}
    for name in present:
        updator[name] = histogram[name] + (w if hits[name] else 0.0)
    return dict(histogram, **updator)


_FLOWS = ("underflow", "overflow", "nanflow", "infflow")


def _histogram_helper(method: int, present: List[str]) -> Callable[..., Any]:
    has_infflow = "infflow" in present
    name = "stat.sample.fillHistogram"

    def outcome(underflow: bool, overflow: bool, nanflow: bool, infflow: bool) -> Dict[str, bool]:
        return {"underflow": underflow, "overflow": overflow, "nanflow": nanflow, "infflow": infflow}

    def by_numbins(x: Any, w: Any, histogram: Dict[str, Any]) -> Any:
        values = histogram["values"]
        numbins, low, high = histogram["numbins"], histogram["low"], histogram["high"]
        if numbins < 1:
            raise _error("bad histogram scale", 14082, name)
        if len(values) != numbins:
            raise _error("wrong histogram size", 14080, name)
        if low >= high or math.isnan(low) or math.isinf(low) or math.isnan(high) or math.isinf(high):
            raise _error("bad histogram range", 14081, name)
        if has_infflow and math.isinf(x):
            hits = outcome(False, False, False, True)
        elif math.isnan(x):
            hits = outcome(False, False, True, False)
        elif x >= high:
            hits = outcome(False, True, False, False)
        elif x < low:
            hits = outcome(True, False, False, False)
        else:
            try:
                index_float = math.floor((x - low) / (high - low) * numbins)
            except ZeroDivisionError:
                index = 0
            else:
                if math.isinf(index_float):
                    index = INT_MAX if index_float > 0 else INT_MIN
                else:
                    index = int(index_float)
            new_values = list(values)
            new_values[index] = new_values[index] + w
            return _flows(histogram, w, new_values, present, outcome(False, False, False, False))
        return _flows(histogram, w, values, present, hits)

    def by_binsize(x: Any, w: Any, histogram: Dict[str, Any]) -> Any:
        values = histogram["values"]
        low, binsize = histogram["low"], histogram["binsize"]
        if binsize <= 0.0 or math.isnan(binsize) or math.isinf(binsize):
            raise _error("bad histogram scale", 14082, name)
        if has_infflow and math.isinf(x):
            hits = outcome(False, False, False, True)
        elif math.isnan(x):
            hits = outcome(False, False, True, False)
        elif math.isinf(x) and x > 0.0:
            hits = outcome(False, True, False, False)
        elif x < low:
            hits = outcome(True, False, False, False)
        else:
            current_high = low + binsize * len(values)
            try:
                index = int(math.floor((x - low) / (current_high - low) * len(values)))
            except ZeroDivisionError:
                index = 0
            if index < len(values):
                new_values = list(values)
                new_values[index] = new_values[index] + w
            else:
                new_values = values + [0.0] * (index - len(values)) + [w]
            return _flows(histogram, w, new_values, present, outcome(False, False, False, False))
        return _flows(histogram, w, values, present, hits)

    def by_ranges(x: Any, w: Any, histogram: Dict[str, Any]) -> Any:
        values = histogram["values"]
        ranges = histogram["ranges"]
        if len(values) != len(ranges):
            raise _error("wrong histogram size", 14080, name)
        if any(len(r) != 2 or r[0] >= r[1] or math.isnan(r[0]) or math.isinf(r[0]) or math.isnan(r[1])
               or math.isinf(r[1]) for r in ranges):
            raise _error("bad histogram ranges", 14083, name)
        is_infinite = math.isinf(x)
        is_nan = math.isnan(x)
        new_values = list(values)
        hit_one = False
        if not is_infinite and not is_nan:
            for index, (low, high) in enumerate(ranges):
                if low == high and x == low:
                    new_values[index] = new_values[index] + w
                    hit_one = True
                elif x >= low and x < high:
                    new_values[index] = new_values[index] + w
                    hit_one = True
        if has_infflow and is_infinite:
            hits = outcome(False, False, False, True)
        elif is_nan:
            hits = outcome(False, False, True, False)
        elif not hit_one:
            hits = outcome(True, False, False, False)
        else:
            hits = outcome(False, False, False, False)
        return _flows(histogram, w, new_values, present, hits)

    return (by_numbins, by_binsize, by_ranges)[method]


class _Refused(Exception):
    """A state record type titus refuses at compile time."""


def _has(fields: Dict[str, Any], name: str, avro_type: Any) -> bool:
    """titus's ``has``: whether the record has the field, refusing it with a type not accepting ``avro_type``."""
    if name not in fields:
        return False
    if not fields[name].accepts(avro_type):
        raise _Refused(name)
    return True


@native("stat.sample.fillHistogram")
def _emit_fill_histogram(site: Site) -> Optional[str]:
    fields = _fields(site.param_types[2])
    double = AvroDouble()
    try:  # the fields titus looks at, in its order (``and`` stops at the first missing one)
        method0 = _has(fields, "numbins", AvroInt()) and _has(fields, "low", double) and _has(fields, "high", double)
        method1 = _has(fields, "low", double) and _has(fields, "binsize", double)
        method2 = _has(fields, "ranges", AvroArray(AvroArray(double)))
        methods = [method0, method1, method2]
        if methods.count(True) != 1:
            return None
        present = [name for name in _FLOWS if _has(fields, name, double)]
    except _Refused:
        return None
    return site.call(_histogram_helper(methods.index(True), present))


_FLOWS_2D = ("underunderflow", "undermidflow", "underoverflow", "midunderflow", "midoverflow", "overunderflow",
             "overmidflow", "overoverflow", "nanflow", "infflow")


def _histogram2d_helper(present: List[str]) -> Callable[..., Any]:
    has_infflow = "infflow" in present
    name = "stat.sample.fillHistogram2d"

    def fill(x: Any, y: Any, w: Any, histogram: Dict[str, Any]) -> Any:
        values = histogram["values"]
        xnumbins = histogram["xnumbins"]
        xlow = histogram["xlow"]
        xhigh = histogram["xhigh"]
        ynumbins = histogram["ynumbins"]
        ylow = histogram["ylow"]
        yhigh = histogram["yhigh"]
        if xnumbins < 1 or ynumbins < 1:
            raise _error("bad histogram scale", 14092, name)
        if len(values) != xnumbins or any(len(row) != ynumbins for row in values):
            raise _error("wrong histogram size", 14090, name)
        if xlow >= xhigh or ylow >= yhigh or math.isnan(xlow) or math.isinf(xlow) or math.isnan(xhigh) or \
                math.isinf(xhigh) or math.isnan(ylow) or math.isinf(ylow) or math.isnan(yhigh) or math.isinf(yhigh):
            raise _error("bad histogram range", 14091, name)
        if math.isnan(x) or math.isnan(y):
            hit: Optional[str] = "nanflow"
        elif has_infflow and (math.isinf(x) or math.isinf(y)):
            hit = "infflow"
        elif x >= xhigh and y >= yhigh:
            hit = "overoverflow"
        elif x >= xhigh and y >= ylow and y < yhigh:
            hit = "overmidflow"
        elif x >= xhigh and y < ylow:
            hit = "overunderflow"
        elif x >= xlow and x < xhigh and y >= yhigh:
            hit = "midoverflow"
        elif x >= xlow and x < xhigh and y < ylow:
            hit = "midunderflow"
        elif x < xlow and y >= yhigh:
            hit = "underoverflow"
        elif x < xlow and y >= ylow and y < yhigh:
            hit = "undermidflow"
        elif x < xlow and y < ylow:
            hit = "underunderflow"
        else:
            hit = None
        if hit is None:
            try:
                xindex = int(math.floor((x - xlow) / (xhigh - xlow) * xnumbins))
            except ZeroDivisionError:
                xindex = 0
            try:
                yindex = int(math.floor((y - ylow) / (yhigh - ylow) * ynumbins))
            except ZeroDivisionError:
                yindex = 0
            new_values = [list(row) for row in values]
            new_values[xindex][yindex] = new_values[xindex][yindex] + w
        else:
            new_values = values
        updator = {"values": new_values}
        for flow in present:
            updator[flow] = histogram[flow] + (w if flow == hit else 0.0)
        return dict(histogram, **updator)
    return fill


@native("stat.sample.fillHistogram2d")
def _emit_fill_histogram2d(site: Site) -> Optional[str]:
    fields = _fields(site.param_types[3])
    try:
        present = [name for name in _FLOWS_2D if _has(fields, name, AvroDouble())]
    except _Refused:
        return None
    return site.call(_histogram2d_helper(present))


# ------------------------------------------------------------------ counters and top N

def _fill_counter(x: str, w: Any, counter: Dict[str, Any]) -> Dict[str, Any]:
    oldmap = counter["values"]
    newmap = dict(oldmap, **{x: oldmap.get(x, 0.0) + w})
    return dict(counter, values=newmap)


@native("stat.sample.fillCounter")
def _emit_fill_counter(site: Site) -> str:
    return site.call(_fill_counter)


def _top_n(x: Any, top: List[Any], n: int, less_than: Callable[[Any, Any], Any]) -> List[Any]:
    if n <= 0:
        return []
    index = 0
    for best in top:
        if less_than(best, x):
            break
        index += 1
    if index == len(top):
        out = top + [x]
    else:
        out = top[:index] + [x] + top[index:]
    return out[:n]


@native("stat.sample.topN")
def _emit_top_n(site: Site) -> str:
    return site.call(_top_n)
