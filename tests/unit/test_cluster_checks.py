"""The cluster rehearsal's count of texts (scripts/cluster_checks.py): one text per row,
even where two rows carry the same words to the same phone."""

import importlib.util
import sys
from collections import Counter
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "cluster_checks", Path(__file__).resolve().parents[2] / "scripts" / "cluster_checks.py"
)
assert _spec
assert _spec.loader
checks = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("cluster_checks", checks)  # its dataclasses look themselves up
_spec.loader.exec_module(checks)

TOLD = ("+8613800000001", "浙F12345已于14:05从平湖进入辖区")
OTHER = ("+8613800000002", "通行证已签发")


def test_two_rows_of_one_text_received_twice_are_each_received_once():
    assert checks.delivery_counts(Counter([TOLD, TOLD]), Counter([TOLD, TOLD])) == (0, 0, 0)


def test_a_text_received_more_often_than_queued_is_twice():
    assert checks.delivery_counts(Counter([TOLD]), Counter([TOLD, TOLD])) == (1, 0, 0)


def test_a_row_never_received_is_lost_and_a_text_never_queued_is_stray():
    assert checks.delivery_counts(Counter([TOLD, TOLD]), Counter([TOLD, OTHER])) == (0, 1, 1)
