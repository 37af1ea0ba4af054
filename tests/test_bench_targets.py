"""The table of targets ``make bench`` computes from the figures the benchmarks write."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import bench
import loadgen


def test_a_ceiling_passes_at_or_below_its_limit() -> None:
    target = bench.Target("CPU", "a.cpu_ms", 0.25, unit=" ms")
    assert target.goal() == "≤ 0.25 ms"
    assert target.verdict({"a.cpu_ms": 0.25}) == "PASS"
    assert target.verdict({"a.cpu_ms": 0.2501}) == "MISS"


def test_a_floor_passes_at_or_above_its_limit() -> None:
    target = bench.Target("rate", "w.rate", 1000, at_most=False)
    assert target.goal() == "≥ 1000"
    assert target.verdict({"w.rate": 1000.0}) == "PASS"
    assert target.verdict({"w.rate": 999}) == "MISS"


def test_a_ratio_divides_by_the_other_figure() -> None:
    target = bench.Target("vs peer", "nova.cpu", 2.0, per="peer.cpu")
    assert target.value({"nova.cpu": 0.3, "peer.cpu": 0.2}) == 0.3 / 0.2
    assert target.verdict({"nova.cpu": 0.3, "peer.cpu": 0.2}) == "PASS"
    assert target.verdict({"nova.cpu": 0.5, "peer.cpu": 0.2}) == "MISS"


def test_a_missing_figure_is_a_miss_never_a_pass() -> None:
    ceiling = bench.Target("CPU", "a.cpu_ms", 1.0)
    ratio = bench.Target("vs peer", "nova.cpu", 2.0, per="peer.cpu")
    for metrics in ({}, {"a.cpu_ms": None}, {"a.cpu_ms": math.nan}, {"a.cpu_ms": "0.1"}):
        assert ceiling.verdict(metrics) == "MISS (not measured)"
    # the peer answered wrongly, so it was not timed: no ratio
    assert ratio.verdict({"nova.cpu": 0.1}) == "MISS (not measured)"
    assert ratio.verdict({"nova.cpu": 0.1, "peer.cpu": 0.0}) == "MISS (not measured)"


def test_the_table_lists_every_target_with_its_value_and_verdict() -> None:
    targets = (
        bench.Target("fast", "x", 1.0, unit=" ms"),
        bench.Target("many", "y", 400, at_most=False),
        bench.Target("absent", "z", 1.0),
    )
    lines = bench.target_table({"x": 0.4567, "y": 512.4}, targets)
    assert lines[2:] == [
        "| fast | ≤ 1 ms | 0.457 | **PASS** |",
        "| many | ≥ 400 | 512 | **PASS** |",
        "| absent | ≤ 1 | - | **MISS (not measured)** |",
    ]


def test_every_target_names_figures_the_benchmarks_write() -> None:
    prefixes = ("gateway.", "gateway-proxy.", "auth.", "users.", "worker.")
    for target in bench.TARGETS:
        assert target.metric.startswith(prefixes), target
        assert target.per is None or target.per.startswith(prefixes), target


def test_summaries_round_trip_with_their_figures(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    rows = [{"benchmark": "auth", "figure": "login", "rps": 20.5}]
    loadgen.write_summary(path, rows, {"auth.login.rps": 20.5})
    assert bench.read_summary(path) == (rows, {"auth.login.rps": 20.5})
    # the older form, headline rows alone, still reads
    path.write_text(json.dumps(rows))
    assert bench.read_summary(path) == (rows, {})
