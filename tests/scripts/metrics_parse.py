#!/usr/bin/env python3
"""Parses a /metrics page (read from stdin) with the Prometheus project's own Python parser,
checks what that parser tolerates but Prometheus would not (a family without a type, a family
split in two, histogram buckets out of order or not cumulative, +Inf not equal to _count),
and prints every sample for the Rust test to compare:

    SAMPLE<TAB>name<TAB>label=value,label=value<TAB>value

then "ALL OK". Exits non-zero on any problem.
"""

import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check_histogram(family):
    series = {}
    for s in family.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        entry = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name == family.name + "_bucket":
            entry["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name == family.name + "_sum":
            entry["sum"] = s.value
        elif s.name == family.name + "_count":
            entry["count"] = s.value
        else:
            fail(f"{s.name} in histogram {family.name}")
    for key, entry in series.items():
        bounds = [b for b, _ in entry["buckets"]]
        counts = [c for _, c in entry["buckets"]]
        if bounds != sorted(bounds) or not bounds or bounds[-1] != math.inf:
            fail(f"{family.name}{key}: bucket bounds {bounds}")
        if counts != sorted(counts):
            fail(f"{family.name}{key}: buckets not cumulative {counts}")
        if entry["count"] is None or entry["sum"] is None:
            fail(f"{family.name}{key}: no _sum or _count")
        if counts[-1] != entry["count"]:
            fail(f"{family.name}{key}: +Inf {counts[-1]} != _count {entry['count']}")


def main():
    page = sys.stdin.read()
    seen = set()
    out = []
    for family in text_string_to_metric_families(page):
        if family.type not in ("counter", "gauge", "histogram"):
            fail(f"{family.name} has type {family.type}")
        if family.name in seen:
            fail(f"{family.name} appears twice")
        seen.add(family.name)
        if not family.documentation:
            fail(f"{family.name} has no help text")
        if family.type == "histogram":
            check_histogram(family)
        for s in family.samples:
            for k, v in s.labels.items():
                if any(c in k + v for c in ",=\t\n"):
                    fail(f"label {k}={v!r} cannot be printed for the comparison")
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            value = int(s.value) if float(s.value).is_integer() else s.value
            out.append(f"SAMPLE\t{s.name}\t{labels}\t{value}")
    if not seen:
        fail("no metric families")
    print("\n".join(out))
    print(f"{len(seen)} families, {len(out)} samples")
    print("ALL OK")


main()
