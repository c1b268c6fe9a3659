"""The README's journeys, run as written: each fenced block under `## Journeys` → `### <service>`
runs in bash against the e2e stack (the blocks stop at their first failing step)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from stack_services import ROOT, present_services

README = ROOT / "README.md"


def journeys() -> dict[str, str]:
    text = README.read_text()
    section = text.split("\n## Journeys\n", 1)[1].split("\n## ", 1)[0]
    found = {}
    for part in section.split("\n### ")[1:]:
        name, body = part.split("\n", 1)
        [block] = re.findall(r"```bash\n(.*?)```", body, flags=re.DOTALL)
        found[name.strip()] = block
    return found


def test_the_readme_has_one_journey_per_service() -> None:
    assert sorted(journeys()) == sorted(s.name for s in present_services())


@pytest.mark.parametrize("service", [s.name for s in present_services()])
def test_a_readme_journey_runs_as_written(stack: Any, service: str, tmp_path: Path) -> None:
    # Its own TMPDIR: what the block (and the tools it calls) leave there is not the stack's.
    env = {**stack.env, "GATEWAY": stack.gateway, "STAND_INS": stack.stand_ins, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-c", journeys()[service]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
