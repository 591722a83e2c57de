#!/usr/bin/env python3
"""Turns what the rollout benchmark measured into the printed table and the JSON report.

    report.py WORK_DIR OUT_JSON

WORK_DIR holds rows.json (written by rollout.ts: settings, releases, one row per scenario and
tool) and meta.txt (key=value facts about the run). Exit status 1 if a ShipML scenario failed
a request, did not roll back, is missing, or any scenario did not complete.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone

SCENARIOS = [
    ("docker: rollout v1 → v2", True),
    ("docker: never-ready → rollback", True),
    ("kubernetes: rollout v1 → v2", False),
    ("kubernetes: never-ready → rollback", False),
]


def read_kv(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    out[k] = v
    return out


def cell(value: object, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def main() -> int:
    work, out_path = sys.argv[1], sys.argv[2]
    meta = read_kv(os.path.join(work, "meta.txt"))
    with open(os.path.join(work, "rows.json"), encoding="utf-8") as f:
        run = json.load(f)
    settings = run["settings"]
    rows = run["rows"]

    # Rows grouped by scenario, ShipML first, in the order the scenarios are listed above.
    ordered = []
    for scenario, _ in SCENARIOS:
        group = [r for r in rows if r["scenario"] == scenario]
        ordered += sorted(group, key=lambda r: not r["shipml"])

    # What the exit status rests on: every ShipML scenario present and passing.
    problems = []
    for scenario, docker in SCENARIOS:
        if not docker and not settings["kubernetes"]:
            continue
        mine = [r for r in rows if r["scenario"] == scenario and r["shipml"]]
        if not mine:
            problems.append(f"{scenario}: ShipML was not measured")
        for r in mine:
            if not r["pass"]:
                why = r.get("error") or (
                    f"{r['failed']} failed request(s)" if r["failed"] else r["note"]
                )
                problems.append(f"{scenario}: ShipML did not pass ({why})")
    for r in rows:
        if r.get("error") and not r["shipml"]:
            problems.append(f"{r['scenario']}: {r['tool']} did not complete ({r['error']})")
    problems += run.get("errors", [])
    if run.get("interrupted"):
        problems.append("interrupted")

    header = ["scenario", "tool", "sent", "failed", "duration s", "note"]
    table = [header]
    for r in ordered:
        table.append(
            [
                r["scenario"],
                r["tool"],
                cell(r["sent"]),
                cell(r["failed"]),
                "ERROR" if r.get("error") else cell(r["seconds"], "{:.2f}"),
                r.get("error") or r["note"],
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = []
    for i, row in enumerate(table):
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            *(c.rjust(w) for c, w in zip(row[2:5], widths[2:5])),
            row[5],
        ]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")

    print()
    print("\n".join(lines))
    print()
    print(
        f"load: {settings['ratePerSecond']} req/s, GET /version and POST /predict in turn, "
        f"{settings['preSeconds']:g} s before and {settings['postSeconds']:g} s after each step "
        f"(at most {settings['loadMaxSeconds']} s); failed = non-2xx or connection error. "
        f"progressDeadlineSeconds {settings['progressDeadlineSeconds']}; "
        f"Docker: {settings['dockerReplicas']} replicas, drainSeconds {settings['drainSeconds']}; "
        + (
            f"Kubernetes: {settings['kubernetesReplicas']} replicas on kwok (API level: no requests)."
            if settings["kubernetes"]
            else "Kubernetes: skipped."
        )
    )
    print(
        f"{meta.get('cpus', '?')} cores, load average {meta.get('loadavg_start', '?')} at start, "
        f"{meta.get('loadavg_end', '?')} at end; Docker Engine {meta.get('docker_engine', '?')}; "
        f"Kubernetes {meta.get('kubernetes', '?')}; ShipML {meta.get('git_commit', '?')}"
        f"{' (src has uncommitted changes)' if meta.get('git_dirty') == 'true' else ''}."
    )
    if problems:
        print("FAILED:")
        for p in problems:
            print(f"  - {p}")
    else:
        print("PASS: every ShipML scenario had 0 failed requests and its rollbacks happened.")

    report = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pass": not problems,
        "problems": problems,
        "meta": meta,
        "settings": settings,
        "releases": run["releases"],
        "started": run["started"],
        "finished": run["finished"],
        "rows": ordered,
    }
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"report: {out_path}", file=sys.stderr)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
