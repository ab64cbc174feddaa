"""The offline scanner's copies of server rules (static/js/rules.js) match their one source
in Python: the province characters, the plate-cleaning pattern, the clock skew."""

from __future__ import annotations

import re
from pathlib import Path

from checkpoints.domain import CLOCK_SKEW
from fleet.domain import PLATE_NOISE, PROVINCES

RULES = (Path(__file__).resolve().parents[2] / "static/js/rules.js").read_text(encoding="utf-8")


def constant(name: str, shape: str) -> str:
    found = re.search(rf"const {name} = {shape};", RULES)
    assert found, f"{name} not found in rules.js"
    return found.group(1)


def test_the_province_list_is_the_fleets():
    assert constant("PROVINCES", r'"([^"]+)"') == PROVINCES


def test_the_plate_noise_pattern_is_the_fleets():
    assert constant("PLATE_NOISE", r"/(.+)/g") == PLATE_NOISE.pattern


def test_the_clock_skew_is_the_decisions():
    assert constant("SKEW", r"(\d+) \* 60 \* 1000") == str(int(CLOCK_SKEW.total_seconds() // 60))
