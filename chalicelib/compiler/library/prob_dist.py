"""``prob.dist.*``: the Gaussian, exponential and uniform distributions (titus's formulas, in its order).

The other distributions are left to titus (their special functions live in titus's ``spec`` module).
"""

import math  # noqa: I001  (titus_compat must be imported before titus)
from typing import Any, Dict, Optional, Tuple

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_sqrt, _isfinite, _log = math.sqrt, math.isfinite, math.log


def _gaussian_params(params: Dict[str, Any], code: int, name: str) -> Tuple[Any, float]:
    variance = params["variance"]
    if math.isnan(variance) or variance < 0.0:
        raise PFARuntimeException("invalid parameterization", code, name, None)
    return params["mean"], math.sqrt(variance)


def _check_gaussian(x: Any, mu: Any, sigma: Any, code: int, name: str) -> None:
    if math.isinf(mu) or math.isnan(mu) or math.isinf(sigma) or math.isnan(sigma) or sigma < 0.0:
        raise PFARuntimeException("invalid parameterization", code, name, None)
    if math.isinf(x) or math.isnan(x):
        raise PFARuntimeException("invalid input", code + 1, name, None)


def _gaussian_ll(x: Any, mu: Any, sigma: Any) -> float:
    _check_gaussian(x, mu, sigma, 13000, "prob.dist.gaussianLL")
    if sigma == 0.0:
        return float("-inf") if x != mu else float("inf")
    return -(x - mu)**2 / (2.0 * sigma**2) - math.log(sigma * _SQRT_2PI)


def _gaussian_ll_record(x: Any, params: Dict[str, Any]) -> float:
    mu, sigma = _gaussian_params(params, 13000, "prob.dist.gaussianLL")
    return _gaussian_ll(x, mu, sigma)


# Records whose terms a call site keeps (a naive Bayes model's parameters are the same dicts every call).
_CACHED_RECORDS = 4096


def _gaussian_ll_cached(cache: Dict[int, Tuple[Any, ...]], x: Any, params: Dict[str, Any]) -> float:
    """``_gaussian_ll_record`` with the parameters' terms (titus's, computed the same way) kept per record."""
    entry = cache.get(id(params))
    if entry is None or entry[0] is not params:
        mu, sigma = _gaussian_params(params, 13000, "prob.dist.gaussianLL")
        if math.isinf(mu) or math.isnan(mu) or math.isinf(sigma) or math.isnan(sigma):
            raise PFARuntimeException("invalid parameterization", 13000, "prob.dist.gaussianLL", None)
        if len(cache) >= _CACHED_RECORDS:
            cache.clear()
        terms = (2.0 * sigma**2, math.log(sigma * _SQRT_2PI)) if sigma != 0.0 else (0.0, 0.0)
        entry = cache[id(params)] = (params, mu, sigma, *terms)
    _, mu, sigma, twice_variance, log_norm = entry
    if not _isfinite(x):
        raise PFARuntimeException("invalid input", 13001, "prob.dist.gaussianLL", None)
    if sigma == 0.0:
        return float("-inf") if x != mu else float("inf")
    return -(x - mu)**2 / twice_variance - log_norm


def _gaussian_entry(cache: Dict[int, Tuple[Any, ...]], params: Dict[str, Any]) -> Tuple[Any, ...]:
    """The record's terms for ``_gaussian_ll_cached``, checked as titus checks them, kept in ``cache``."""
    mu, sigma = _gaussian_params(params, 13000, "prob.dist.gaussianLL")
    if math.isinf(mu) or math.isnan(mu) or math.isinf(sigma) or math.isnan(sigma):
        raise PFARuntimeException("invalid parameterization", 13000, "prob.dist.gaussianLL", None)
    if len(cache) >= _CACHED_RECORDS:
        cache.clear()
    terms = (2.0 * sigma**2, math.log(sigma * _SQRT_2PI)) if sigma != 0.0 else (0.0, 0.0)
    entry = cache[id(params)] = (params, mu, sigma, *terms)
    return entry


def _gaussian_ll_edge(x: Any, mu: Any, sigma: float) -> float:
    """What the inline form leaves to a call: a non-finite ``x`` (an error), a zero ``sigma``."""
    if not _isfinite(x):
        raise PFARuntimeException("invalid input", 13001, "prob.dist.gaussianLL", None)
    return float("-inf") if x != mu else float("inf")


@native("prob.dist.gaussianLL", statements=True)
def _emit_gaussian_ll(site: Site) -> Optional[str]:
    if len(site.args) == 3:
        return site.call(_gaussian_ll)
    # The record's terms come from a cache per call site (by the record's identity), read in place.
    x, params = site.args
    cache, entry = site.const({}), site.temp()
    site.line(f"{entry} = {cache}.get({site.helper(id)}({params}))")
    site.line(f"if {entry} is None or {entry}[0] is not {params}: "
              f"{entry} = {site.helper(_gaussian_entry)}({cache}, {params})")
    return (f"(-({x} - {entry}[1])**2 / {entry}[3] - {entry}[4] if {entry}[2] != 0.0 and "
            f"{site.helper(_isfinite)}({x}) else {site.helper(_gaussian_ll_edge)}({x}, {entry}[1], {entry}[2]))")


def _gaussian_cdf(x: Any, mu: Any, sigma: Any) -> float:
    _check_gaussian(x, mu, sigma, 13010, "prob.dist.gaussianCDF")
    if sigma == 0.0:
        return 0.0 if x < mu else 1.0
    return 0.5 * (1.0 + math.erf((x - mu) / (sigma * math.sqrt(2.0))))


def _gaussian_cdf_record(x: Any, params: Dict[str, Any]) -> float:
    mu, sigma = _gaussian_params(params, 13010, "prob.dist.gaussianCDF")
    return _gaussian_cdf(x, mu, sigma)


@native("prob.dist.gaussianCDF")
def _emit_gaussian_cdf(site: Site) -> Optional[str]:
    return site.call(_gaussian_cdf if len(site.args) == 3 else _gaussian_cdf_record)


def _check_rate(x: Any, rate: Any, code: int, name: str) -> None:
    if math.isinf(rate) or math.isnan(rate) or rate < 0.0:
        raise PFARuntimeException("invalid parameterization", code, name, None)
    if math.isinf(x) or math.isnan(x):
        raise PFARuntimeException("invalid input", code + 1, name, None)


def _exponential_pdf(x: Any, rate: Any) -> Any:
    _check_rate(x, rate, 13030, "prob.dist.exponentialPDF")
    if rate == 0.0 or x < 0.0:
        return 0.0
    if x == 0.0:
        return rate
    return rate * math.exp(-rate * x)


def _exponential_cdf(x: Any, rate: Any) -> float:
    _check_rate(x, rate, 13040, "prob.dist.exponentialCDF")
    if rate == 0.0 or x <= 0.0:
        return 0.0
    return 1.0 - math.exp(-rate * x)


@native("prob.dist.exponentialPDF")
def _emit_exponential_pdf(site: Site) -> Optional[str]:
    return site.call(_exponential_pdf)


@native("prob.dist.exponentialCDF")
def _emit_exponential_cdf(site: Site) -> Optional[str]:
    return site.call(_exponential_cdf)


def _check_uniform(x: Any, low: Any, high: Any, code: int, name: str) -> None:
    if math.isinf(low) or math.isnan(low) or math.isinf(high) or math.isnan(high) or low >= high:
        raise PFARuntimeException("invalid parameterization", code, name, None)
    if math.isinf(x) or math.isnan(x):
        raise PFARuntimeException("invalid input", code + 1, name, None)


def _uniform_pdf(x: Any, low: Any, high: Any) -> float:
    _check_uniform(x, low, high, 13330, "prob.dist.uniformPDF")
    if x < low or x > high:
        return 0.0
    return 1.0 / (high - low)


def _uniform_cdf(x: Any, low: Any, high: Any) -> Any:
    _check_uniform(x, low, high, 13340, "prob.dist.uniformCDF")
    if x < low:
        return 0.0
    if x > high:
        return 1.0
    return (x - low) / (high - low)


@native("prob.dist.uniformPDF")
def _emit_uniform_pdf(site: Site) -> Optional[str]:
    return site.call(_uniform_pdf)


@native("prob.dist.uniformCDF")
def _emit_uniform_cdf(site: Site) -> Optional[str]:
    return site.call(_uniform_cdf)
