"""What choosing the engine costs at load, in process: ``compile_served`` of each model with PFA_ENGINE=titus
(no check) and with the default, auto (compile to Python, then the check against titus), alternately."""

from __future__ import annotations

import statistics
import time
from typing import Any, Dict, List, Mapping, Tuple

from benchmarks.engines import TITUS
from chalicelib.served_model import compile_served

AUTO = "auto"


def bench_loads(documents: Mapping[str, Tuple[bytes, str]], runs: int) -> Dict[str, Any]:
    """Per model (name -> (document bytes, key)): the load's median ms for each setting, and the auto load's
    engine choice: which engine, on how many check inputs, and ``EngineChoice.check_ms`` (compile + check)."""
    results: Dict[str, Any] = {}
    for name, (data, key) in documents.items():
        load_ms: Dict[str, List[float]] = {TITUS: [], AUTO: []}
        check_ms: List[float] = []
        checked, chosen, reason = 0, "", ""
        for _ in range(max(1, runs)):
            for setting in (TITUS, AUTO):
                began = time.perf_counter()
                served = compile_served(data, key, engine=setting)
                load_ms[setting].append((time.perf_counter() - began) * 1000)
                if setting == AUTO:
                    choice = served.model.engine
                    check_ms.append(choice.check_ms)
                    checked, chosen, reason = choice.checked_inputs, choice.name, choice.reason
        titus_ms, auto_ms = statistics.median(load_ms[TITUS]), statistics.median(load_ms[AUTO])
        results[name] = {"runs": len(check_ms), "load_titus_ms": titus_ms, "load_auto_ms": auto_ms,
                         "auto_minus_titus_ms": auto_ms - titus_ms, "check_ms": statistics.median(check_ms),
                         "checked_inputs": checked, "engine": chosen, "reason": reason,
                         "samples_ms": {"titus": load_ms[TITUS], "auto": load_ms[AUTO], "check": check_ms}}
    return results
