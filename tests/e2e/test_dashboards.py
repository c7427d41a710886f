#!/usr/bin/env python3
"""The Grafana dashboard (deploy/grafana/dashboards/portico.json) asks only for metrics Portico
really exports. No containers: the real portico binary runs briefly and its /metrics is scraped.

    python3 tests/e2e/test_dashboards.py --portico build/src/portico

dashboard_names_exported (127.0.142.0/24):
  * the metric families come from the `# TYPE` lines of a live scrape, with the registration and
    CDR sections in the policy so that their families show too. Families with labels made at run
    time (realm, route, status class...) appear only once something is counted; those are taken
    from the metric tables of docs/operations.md, and the test prints which ones;
  * each panel query's portico_* name must be such a family, or a histogram's _bucket, _sum or
    _count series; rate()/increase() only over counters and histogram series;
  * every panel uses the provisioned datasource (its uid in deploy/grafana/provisioning);
  * the checker itself must reject a query naming a metric Portico does not export.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True

from harness import check, default_policy, e2e_test, run_tests

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy/grafana/dashboards/portico.json"
DATASOURCES = REPO / "deploy/grafana/provisioning/datasources/prometheus.yml"
OPERATIONS = REPO / "docs/operations.md"
METRICS_PORT = 9464
SERIES_SUFFIXES = ("_bucket", "_sum", "_count")
RATED = re.compile(r"\b(?:rate|irate|increase)\(\s*(portico_\w+)")
NAME = re.compile(r"\bportico_\w+")


def live_families(ip: str) -> dict[str, str]:
    """{family: type} from the `# TYPE name type` lines of Portico's /metrics."""
    with urllib.request.urlopen(f"http://{ip}:{METRICS_PORT}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {m.group(1): m.group(2)
            for m in re.finditer(r"^# TYPE (portico_\w+) (\w+)$", text, re.M)}


def documented_families() -> dict[str, str]:
    """{family: type} from the `| `name` | type | ...` rows of docs/operations.md."""
    rows = re.finditer(r"^\| `(portico_\w+)` \| (\w+)", OPERATIONS.read_text(), re.M)
    return {m.group(1): m.group(2) for m in rows}


def problems(queries: list[tuple[str, str]], families: dict[str, str]) -> list[str]:
    """What is wrong with the (panel title, PromQL) pairs, given the exported families."""
    out = []
    for title, expr in queries:
        names = NAME.findall(expr)
        if not names:
            out.append(f"{title}: {expr!r} names no portico_ metric")
        for name in names:
            family = name
            if name not in families:
                family = next((name[:-len(s)] for s in SERIES_SUFFIXES if name.endswith(s)
                               and families.get(name[:-len(s)]) == "histogram"), None)
            if family is None:
                out.append(f"{title}: {name} is not exported by Portico")
        for name in RATED.findall(expr):
            kind = families.get(name)
            if kind is not None and kind != "counter":
                out.append(f"{title}: rate/increase over {name}, a {kind}")
    return out


@e2e_test(k=142, portico_only=True)
def test_dashboard_names_exported(ctx):
    net = ctx.net
    policy = default_policy(net, trace=False) + (
        f"metrics: {{address: {net.access}, port: {METRICS_PORT}}}\n"
        "registration: {realm: access}\n"
        f"cdr: {{path: {ctx.dir / 'cdr.jsonl'}}}\n")
    ctx.start_portico(policy)
    live = live_families(net.access)
    check(len(live) >= 20, f"only {len(live)} portico_ families in /metrics: {sorted(live)}")
    docs = documented_families()
    check(len(docs) >= 20, f"only {len(docs)} metric rows found in {OPERATIONS}")
    # Both sources must agree on the type where both know the family.
    clash = [f"{n}: /metrics {live[n]}, docs {docs[n]}" for n in live
             if n in docs and live[n] != docs[n] and docs[n] != "gauge (1)"]
    check(not clash, "docs/operations.md and /metrics disagree:\n  " + "\n  ".join(clash))
    families = {**docs, **live}

    dash = json.loads(DASHBOARD.read_text())
    uid = re.search(r"^\s*uid:\s*(\S+)", DATASOURCES.read_text(), re.M)
    check(uid is not None, f"{DATASOURCES}: no datasource uid")
    queries = []
    for p in dash["panels"]:
        check(p.get("datasource", {}).get("uid") == uid.group(1),
              f"panel {p.get('title')!r} does not use the provisioned datasource {uid.group(1)}")
        targets = p.get("targets", [])
        check(targets, f"panel {p.get('title')!r} has no query")
        queries += [(p["title"], t["expr"]) for t in targets]
    found = problems(queries, families)
    check(not found, "dashboard queries Portico cannot answer:\n  " + "\n  ".join(found))

    used = sorted({n for _, e in queries for n in NAME.findall(e)})
    from_docs = [n for n in used if n not in live
                 and not any(n.endswith(s) and n[:-len(s)] in live for s in SERIES_SUFFIXES)]
    print(f"    {len(dash['panels'])} panels, {len(queries)} queries, {len(used)} metric names; "
          f"{len(live)} families live at start; from docs/operations.md only (labels made at "
          f"run time): {', '.join(from_docs) or 'none'}", flush=True)

    # The checker can fail: a misspelt counter and a rate over a gauge are both caught.
    bad = problems([("t", "rate(portico_calls_made_total[1m])"),
                    ("t", "rate(portico_calls_active[1m])")], families)
    check(len(bad) == 2, f"the checker missed a bad query: {bad}")
    ctx.finish_portico(zero_state=False)


if __name__ == "__main__":
    sys.exit(run_tests(__file__))
