#!/usr/bin/env python3
"""Turns the raw samples run.sh collected into the printed table and the JSON report.

    report.py META_JSON SAMPLES_JSONL OUT_JSON

META_JSON: what run.sh knows about the run (size, versions, services, start-up times).
SAMPLES_JSONL: one measured command per line:
    {"backend", "tool", "direction", "run", "seconds", "rssKiB", "exitCode", "status"}
Exit status 1 if any row is not ok.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from datetime import datetime, timezone

BACKENDS = ["file", "s3", "azblob"]
DIRECTIONS = ["upload", "publish+registry", "download", "read+hash"]


def build_rows(samples: list[dict], size_mib: int) -> list[dict]:
    rows: list[dict] = []
    by_key: dict[tuple, dict] = {}
    for s in samples:
        key = (s["backend"], s["tool"], s["direction"])
        if key not in by_key:
            by_key[key] = {"backend": key[0], "tool": key[1], "direction": key[2], "samples": []}
            rows.append(by_key[key])
        by_key[key]["samples"].append(s)
    for row in rows:
        ok = [s for s in row["samples"] if s["status"] == "ok"]
        bad = [s for s in row["samples"] if s["status"] != "ok"]
        row["status"] = bad[0]["status"] if bad else "ok"
        row["derived"] = False
        row["seconds"] = statistics.median(s["seconds"] for s in ok) if ok else None
        row["peakRssKiB"] = max(s["rssKiB"] for s in ok) if ok else None

    def find(backend: str, tool: str, direction: str) -> dict | None:
        return by_key.get((backend, tool, direction))

    # Derived floor for "copy + verify" on the local disk: cp, then a separate sha256sum pass.
    hashed = find("file", "sha256sum", "read+hash")
    for direction in ["upload", "download"]:
        cp = find("file", "cp", direction)
        if not cp or not hashed:
            continue
        ok = cp["status"] == "ok" and hashed["status"] == "ok"
        row = {
            "backend": "file",
            "tool": "cp + sha256sum",
            "direction": direction,
            "derived": True,
            "status": "ok" if ok else "failed",
            "seconds": cp["seconds"] + hashed["seconds"] if ok else None,
            "peakRssKiB": max(cp["peakRssKiB"], hashed["peakRssKiB"]) if ok else None,
        }
        rows.append(row)
        by_key[("file", row["tool"], direction)] = row

    for row in rows:
        row["mibPerSec"] = size_mib / row["seconds"] if row["seconds"] else None
    for row in rows:
        row["shipmlRatio"] = None
        if row["tool"] == "shipml" or row["direction"] not in ("upload", "publish+registry", "download"):
            continue
        shipml = find(row["backend"], "shipml", row["direction"])
        if shipml and shipml["mibPerSec"] and row["mibPerSec"]:
            row["shipmlRatio"] = shipml["mibPerSec"] / row["mibPerSec"]

    # Back end, then direction; shipml first, then baselines as measured, then derived rows.
    def order(item: tuple[int, dict]) -> tuple:
        i, r = item
        rank = 0 if r["tool"] == "shipml" else 2 if r["derived"] else 1
        return (BACKENDS.index(r["backend"]), DIRECTIONS.index(r["direction"]), rank, i)

    def rnd(x: float | None, digits: int) -> float | None:
        return None if x is None else round(x, digits)

    return [
        {
            "backend": r["backend"],
            "tool": r["tool"],
            "direction": r["direction"],
            "status": r["status"],
            "derived": r["derived"],
            "seconds": rnd(r["seconds"], 3),
            "mibPerSec": rnd(r["mibPerSec"], 1),
            "peakRssMiB": None if r["peakRssKiB"] is None else round(r["peakRssKiB"] / 1024, 1),
            "shipmlRatio": rnd(r["shipmlRatio"], 2),
        }
        for _, r in sorted(enumerate(rows), key=order)
    ]


def notes(meta: dict) -> list[str]:
    runs = meta["runs"]
    return [
        "shipml/this = shipml MiB/s divided by this row's MiB/s, same back end and direction: "
        "below 1 means shipml is slower than this tool.",
        "shipml computes the sha256 of every byte on publish and verifies the sha256 of every byte on pull; "
        "cp does not verify anything, aws s3 cp (AWS CLI v1) at most sends a CRC32 per upload request, "
        "and azure-storage-blob runs with validate_content off (its default).",
        '"cp + sha256sum" = cp time + one separate sha256sum pass over the file: '
        "the floor for copy + verify on this disk.",
        "Times are whole-process wall clock, start-up included, warm page cache, "
        + (f"median of {runs} runs" if runs > 1 else "one run")
        + "; peak RSS is the process's maximum resident set (GNU time %M)"
        + (", max over runs." if runs > 1 else "."),
        "Client and server share this machine (127.0.0.1 only): CPU one side spends slows the other.",
    ]


def table(meta: dict, rows: list[dict], note_lines: list[str], out_path: str) -> str:
    def fmt(x: float | None, digits: int) -> str:
        return "" if x is None else f"{x:.{digits}f}"

    header = ["backend", "tool", "direction", "seconds", "MiB/s", "peak RSS MiB", "shipml/this"]
    right = [False, False, False, True, True, True, True]
    cells = [
        [
            r["backend"],
            r["tool"],
            r["direction"],
            fmt(r["seconds"], 2) if r["status"] == "ok" else r["status"].upper(),
            fmt(r["mibPerSec"], 1),
            fmt(r["peakRssMiB"], 1),
            "" if r["shipmlRatio"] is None else f"{r['shipmlRatio']:.2f}x",
        ]
        for r in rows
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]

    def line(cs: list[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if right[i] else c.ljust(widths[i]) for i, c in enumerate(cs)
        ).rstrip()

    v = meta["versions"]
    out = [
        f"ShipML model store benchmark: {meta['sizeMiB']} MiB random file, {meta['host']['cpus']} CPUs, "
        f"shipml {v['shipml']} ({v['gitCommit']}{', uncommitted changes' if v['gitDirty'] else ''}), "
        f"node {v['node']}",
        "",
        line(header),
        line(["-" * w for w in widths]),
    ]
    prev = None
    for r, c in zip(rows, cells):
        if prev is not None and r["backend"] != prev:
            out.append("")
        prev = r["backend"]
        out.append(line(c))
    out.append("")
    out += [f"* {n}" for n in note_lines]
    startup = ", ".join(
        f"{k} {'?' if s is None else f'{s:.2f}'} s" for k, s in meta.get("startupSeconds", {}).items()
    )
    if startup:
        out.append(f"* start-up alone (no transfer): {startup}.")
    out.append(f"* JSON report: {out_path}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    meta_path, samples_path, out_path = argv
    with open(meta_path) as f:
        meta = json.load(f)
    with open(samples_path) as f:
        samples = [json.loads(line) for line in f if line.strip()]
    rows = build_rows(samples, meta["sizeMiB"])
    note_lines = notes(meta)
    report = {
        "schema": 1,
        "generatedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **meta,
        "rows": rows,
        "samples": samples,
        "notes": note_lines,
    }
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(table(meta, rows, note_lines, out_path))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
