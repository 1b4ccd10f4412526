#!/usr/bin/python3
"""Summarize the runs of scripts/l1-bench-vm.sh (one gmem_tlb_cost_test
output per file, named <backing>-<MiB>-<vcpus>-<rep>.txt).

usage: bench-vm-report.py RUNS_DIR RESULTS_DIR DATE

Writes RESULTS_DIR/DATE.json (every run, every key), vm.md (median and
spread per size, vCPU count and backing), summary.json (one number per
backing and metric; ratios are taken per size and vCPU count, then their
median) and vm-*.dat for the plots.
"""
import json
import pathlib
import statistics
import sys

BACKINGS = ("mapped", "unmapped", "per_folio")
# Table columns: (heading, key, scale); per-GiB columns are divided by the size.
COLUMNS = (
    ("start latency ms", "boot.start_latency_us", 1e-3),
    ("boot populate ms", "boot.time_us", 1e-3),
    ("cold flushes", "boot.direct_map_tlb_flushes", 1),
    ("DirectMap4k +kB", "boot.DirectMap4k", 1),
    ("hotplug ms", "hotplug.time_us", 1e-3),
    ("hotplug flushes", "hotplug.direct_map_tlb_flushes", 1),
    ("warm populate ms", "warm.time_us", 1e-3),
    ("warm flushes", "warm.direct_map_tlb_flushes", 1),
)


def read_run(path):
    backing, mib, vcpus, rep = path.stem.rsplit("-", 3)
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = int(value)
        except ValueError:
            pass
    return {"backing": backing, "mib": int(mib), "vcpus": int(vcpus),
            "rep": int(rep), "values": values}


def median_spread(runs, key, scale=1.0):
    data = [r["values"][key] * scale for r in runs]
    return statistics.median(data), min(data), max(data)


def main(runs_dir, results_dir, date):
    runs = [read_run(p) for p in sorted(pathlib.Path(runs_dir).glob("*.txt"))]
    out = pathlib.Path(results_dir)
    (out / f"{date}.json").write_text(json.dumps(runs, indent=1) + "\n")

    configs = sorted({(r["mib"], r["vcpus"]) for r in runs})
    group = {(r["mib"], r["vcpus"], r["backing"]): [] for r in runs}
    for r in runs:
        group[(r["mib"], r["vcpus"], r["backing"])].append(r)

    reps = max(r["rep"] for r in runs)
    hotplug_mib = runs[0]["values"]["hotplug_mib"]
    lines = [f"Guest RAM touched by its vCPUs, then {hotplug_mib} MiB hot-added, "
             f"then a second (warm) guest; median of {reps} runs, "
             "[min-max] below it.", "",
             "| MiB | vCPUs | backing | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---" * (3 + len(COLUMNS)) + "|"]
    for mib, vcpus in configs:
        for backing in BACKINGS:
            cells = []
            for _, key, scale in COLUMNS:
                med, low, high = median_spread(group[(mib, vcpus, backing)], key, scale)
                cells.append(f"{med:.0f} [{low:.0f}-{high:.0f}]")
            lines.append(f"| {mib} | {vcpus} | {backing} | " + " | ".join(cells) + " |")
    (out / "vm.md").write_text("\n".join(lines) + "\n")

    def per_gib(backing, key, mib_key):
        return statistics.median(r["values"][key] * 1024 / r["values"][mib_key]
                                 for r in runs if r["backing"] == backing)

    def ratio(backing, key):
        return statistics.median(
            median_spread(group[(mib, vcpus, backing)], key)[0] /
            median_spread(group[(mib, vcpus, "mapped")], key)[0]
            for mib, vcpus in configs)

    summary = {
        "flushes_per_gib_cold": {b: per_gib(b, "boot.direct_map_tlb_flushes", "boot_mib")
                                 for b in BACKINGS},
        "flushes_per_gib_warm": {b: per_gib(b, "warm.direct_map_tlb_flushes", "boot_mib")
                                 for b in BACKINGS},
        "directmap4k_delta_per_gib": {b: per_gib(b, "boot.DirectMap4k", "boot_mib")
                                      for b in BACKINGS},
        "populate_time_ratio_vs_mapped": {b: ratio(b, "boot.time_us") for b in BACKINGS},
        "hotplug_flushes_per_gib": {b: per_gib(b, "hotplug.direct_map_tlb_flushes",
                                               "hotplug_mib") for b in BACKINGS},
        "hotplug_time_ratio_vs_mapped": {b: ratio(b, "hotplug.time_us") for b in BACKINGS},
    }
    summary = {m: {b: round(v, 3) for b, v in d.items()} for m, d in summary.items()}
    # The other parts of the bench write their own keys of summary.json.
    path = out / "summary.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(summary)
    path.write_text(json.dumps(merged, indent=1) + "\n")

    # Plot data: one row per size and vCPU count, one column per backing.
    for name, key, scale in (("flushes", "boot.direct_map_tlb_flushes", 1),
                             ("populate", "boot.time_us", 1e-3)):
        rows = [f"{mib}M/{vcpus}v " + " ".join(
                    f"{median_spread(group[(mib, vcpus, b)], key, scale)[0]:.1f}"
                    for b in BACKINGS) for mib, vcpus in configs]
        (out / f"vm-{name}.dat").write_text("# config " + " ".join(BACKINGS) + "\n" +
                                             "\n".join(rows) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
