"""Where runs write and where `make cost` reads: the latest run outside version control, the reference inside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

from benchmarks.examples import PROJECT_DIR

# Every `make bench` writes here; `.local/` is ignored by git, so a run never dirties the tree.
LATEST_DIR = PROJECT_DIR / ".local" / "bench"
# Only `make bench-reference` writes here, deliberately, to be committed on its own.
REFERENCE_DIR = PROJECT_DIR / "benchmarks" / "reference"
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
COST_MD = "cost.md"


def latest_results(latest_dir: Path = LATEST_DIR, reference_dir: Path = REFERENCE_DIR) -> Path:
    """The results `make cost` prices: the latest run's, else the reference run's."""
    latest = latest_dir / RESULTS_JSON
    return latest if latest.exists() else reference_dir / RESULTS_JSON


def shown(path: Path) -> str:
    """A path as the reports name it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def write_report(results: Dict[str, Any], out_dir: Path, json_name: str, md_name: str,
                 render: Callable[[Dict[str, Any]], str]) -> Tuple[Path, Path]:
    """Write a run's raw numbers (JSON) and its tables (``render``'s Markdown) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / json_name, out_dir / md_name
    json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    md_path.write_text(render(results))
    return json_path, md_path
