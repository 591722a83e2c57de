"""Turns the scenario outputs of bench/serve/run.sh into a table (stdout) and a JSON report."""

import argparse
import datetime
import json
import os
import platform
import subprocess

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--workers", type=int, required=True)
p.add_argument("--connections", type=int, required=True)
p.add_argument("--seconds", type=int, required=True)
p.add_argument("--out", required=True)
a = p.parse_args()


def load(name):
    with open(os.path.join(a.work, name + ".json"), encoding="utf-8") as f:
        return json.loads(f.read().strip().splitlines()[-1])


inproc = load("inprocess")
rows = [
    {
        "scenario": "in-process session.run (limit)",
        "rps": inproc["rps"],
        "p50_ms": inproc["p50_us"] / 1000,
        "p99_ms": inproc["p99_us"] / 1000,
        "errors": 0,
    }
]
names = {
    "node": "digits (Fastify + onnxruntime-node), 1 process",
    "node-cluster": f"digits, WEB_CONCURRENCY={a.workers}",
    "flask": f"Flask + gunicorn -w {a.workers} + onnxruntime",
}
http = {}
for key, label in names.items():
    w = load(key)
    errors = w["non2xx"] + w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
    http[key] = {
        "scenario": label,
        "rps": w["requests"] / (w["duration_us"] / 1e6),
        "p50_ms": w["p50_us"] / 1000,
        "p99_ms": w["p99_us"] / 1000,
        "errors": errors,
    }
    rows.append(http[key])

flask = http["flask"]
for r in rows:
    r["vs_in_process"] = r["rps"] / inproc["rps"]
    r["vs_flask"] = r["rps"] / flask["rps"]

node = http["node"]
targets = {
    "node_vs_in_process_min_0.70": {"value": node["rps"] / inproc["rps"], "met": node["rps"] / inproc["rps"] >= 0.70},
    "node_vs_flask_min_2.0": {"value": node["rps"] / flask["rps"], "met": node["rps"] / flask["rps"] >= 2.0},
    "node_p99_le_flask_p99": {
        "value": node["p99_ms"] / flask["p99_ms"],
        "met": node["p99_ms"] <= flask["p99_ms"],
    },
}

print(f"serving benchmark: batch size 1, wrk -t1 -c{a.connections}, {a.seconds} s per scenario, 127.0.0.1, {os.cpu_count()} cores")
print(f"{'scenario':<50} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'÷in-proc':>9} {'÷flask':>7}")
for r in rows:
    print(
        f"{r['scenario']:<50} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['errors']:>6}"
        f" {r['vs_in_process']:>9.2f} {r['vs_flask']:>7.2f}"
    )
print()
for name, t in targets.items():
    print(f"target {name:<32} {'met' if t['met'] else 'NOT met'}  ({t['value']:.2f})")

node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
report = {
    "benchmark": "serve",
    "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "node": node_version},
    "settings": {"batch_size": 1, "connections": a.connections, "seconds": a.seconds, "workers": a.workers, "load_generator": "wrk -t1"},
    "rows": rows,
    "targets": targets,
}
with open(a.out, "w", encoding="utf-8") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
print(f"\nreport: {a.out}")
if any(r["errors"] for r in rows):
    raise SystemExit("some requests failed; see the errors column")
