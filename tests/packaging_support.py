"""What the packaging tests share: `make package` run as a fresh machine runs it, and what a packaged role grants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent


def build_package(stage: str, out: Path) -> subprocess.CompletedProcess:
    """`python -m devtools.package --stage STAGE --out OUT` with no region, profile or credentials."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    return subprocess.run([sys.executable, "-m", "devtools.package", "--stage", stage, "--out", str(out)],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)


def packaged_resources(out: Path) -> dict[str, Any]:
    return json.loads((out / "sam.json").read_text())["Resources"]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def granted(role: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (action, resource) pair the role's policy allows; a role has one policy, allowing only."""
    (policy,) = role["Properties"]["Policies"]
    pairs = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow", statement
        pairs |= {(action, target) for action in as_list(statement["Action"])
                  for target in as_list(statement["Resource"])}
    return pairs


def policy_actions(path: Path) -> set[str]:
    """The actions a policy file of .chalice/ names, whatever their resources."""
    statements = json.loads(path.read_text())["Statement"]
    return {action for statement in statements for action in as_list(statement["Action"])}
