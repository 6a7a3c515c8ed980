#!/usr/bin/env python3
"""Markdown table of the microbenchmark figures next to the machine model's current ones.

usage: table.py MICROBENCH_JSON MACHINE_JSON

MICROBENCH_JSON holds one JSON object per line (what bench/gpu/microbench/*.cu print); each names
in "model" the dotted path of the figure in the machine file it measures (for example
"kinds.tma_load.latency" or "cross_role_latency", whose "value" is then read). The model column
says "(estimate)" where the machine file's source for that figure calls it an estimate.
"""
import json
import sys


def model_figure(machine, path):
    node, parent = machine, None
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None, False
        parent, node = node, node[key]
    if isinstance(node, dict):  # a figure object such as {"value": 64, "source": ...}
        parent, node = node, node.get("value")
    source = parent.get("source", "") if isinstance(parent, dict) else ""
    return node, "estimate" in source.lower()


def main():
    results_path, machine_path = sys.argv[1], sys.argv[2]
    with open(machine_path) as f:
        machine = json.load(f)
    print(f"| figure | measured | unit | model ({machine_path.split('/')[-1]}) | method |")
    print("|---|---|---|---|---|")
    with open(results_path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                print(f"| (unparsable line) | | | | `{line[:80]}` |")
                continue
            model = ""
            if r.get("model"):
                value, estimate = model_figure(machine, r["model"])
                model = "?" if value is None else f"{value} `{r['model']}`"
                if estimate:
                    model += " (estimate)"
            value = r.get("value")
            shown = f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
            print(f"| {r.get('figure', '?')} | {shown} | {r.get('unit', '')} | {model} | "
                  f"{r.get('method', '').replace('|', '/')} |")


if __name__ == "__main__":
    main()
