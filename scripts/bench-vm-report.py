#!/usr/bin/python3
"""Summarize the runs of scripts/l1-bench-vm.sh (one gmem_tlb_cost_test
output per file, named <backing>-<MiB>-<vcpus>-<round>.txt; other files,
such as the warm-ups and order.txt, are not runs).

usage: bench-vm-report.py RUNS_DIR RESULTS_DIR DATE

Writes RESULTS_DIR/DATE.json (every run, every key, and its line of
order.txt if there is one), vm.md (median and spread per size, vCPU count
and backing; then the paired ratios), summary.json (one number per
backing and metric; ratios are taken per size and vCPU count, then their
median; and, under paired_vs_mapped, the paired ratios per size and vCPU
count) and vm-*.dat for the plots.

A paired ratio is a run's time over that of the mapped run of the same
round; reported are the median of those ratios over the rounds, a
percentile-bootstrap 95% interval of that median, and the extra time per
populated 4 KiB page, (median - median of mapped) / pages.
"""
import json
import pathlib
import random
import re
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
# Paired metrics: (key, key of the MiB it populates; None: it populates none).
PAIRED = (
    ("boot.time_us", "boot_mib"),
    ("hotplug.time_us", "hotplug_mib"),
    ("boot.start_latency_us", None),
    ("warm.time_us", "boot_mib"),
)
RUN_NAME = re.compile(r"([a-z_]+)-(\d+)-(\d+)-(\d+)")
RESAMPLES = 10000
SEED = 22  # fixed, so that the same runs give the same report


def read_run(path):
    backing, mib, vcpus, rep = RUN_NAME.fullmatch(path.stem).groups()
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        try:
            values[key] = int(value)
        except ValueError:
            pass
    return {"backing": backing, "mib": int(mib), "vcpus": int(vcpus),
            "rep": int(rep), "values": values}


def read_order(path):
    """(round, backing, MiB, vcpus) -> the last line of order.txt for it."""
    order = {}
    if path.exists():
        for line in path.read_text().splitlines():
            rnd, position, backing, mib, vcpus, psi, attempt = line.split()
            order[(int(rnd), backing, int(mib), int(vcpus))] = {
                "position": int(position), "try": attempt,
                "cpu_some_avg10": None if psi == "-" else float(psi)}
    return order


def median_spread(runs, key, scale=1.0):
    data = [r["values"][key] * scale for r in runs]
    return statistics.median(data), min(data), max(data)


def bootstrap_ci(ratios):
    """Percentile-bootstrap 95% interval of the median of ratios."""
    rng = random.Random(SEED)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios)))
                     for _ in range(RESAMPLES))
    return medians[int(RESAMPLES * 0.025)], medians[int(RESAMPLES * 0.975) - 1]


def paired(base_runs, runs, key, mib_key):
    """Runs of one backing against the mapped runs of the same size and
    vCPU count; the ratio of the medians if no round has both."""
    base = {r["rep"]: r["values"][key] for r in base_runs if key in r["values"]}
    other = {r["rep"]: r["values"][key] for r in runs if key in r["values"]}
    if not base or not other:
        return None
    rounds = sorted(base.keys() & other.keys())
    ratios = [other[n] / base[n] for n in rounds]
    base_median, median = statistics.median(base.values()), statistics.median(other.values())
    entry = {"ratio": statistics.median(ratios) if ratios else median / base_median,
             "ci_low": None, "ci_high": None, "rounds": len(rounds), "us_per_page": None}
    if ratios:
        entry["ci_low"], entry["ci_high"] = bootstrap_ci(ratios)
    if mib_key:
        entry["us_per_page"] = (median - base_median) / (runs[0]["values"][mib_key] * 256)
    return {k: v if v is None or k == "rounds" else round(v, 3) for k, v in entry.items()}


def main(runs_dir, results_dir, date):
    runs_dir = pathlib.Path(runs_dir)
    runs = [read_run(p) for p in sorted(runs_dir.glob("*.txt"))
            if RUN_NAME.fullmatch(p.stem)]
    order = read_order(runs_dir / "order.txt")
    for r in runs:
        r.update(order.get((r["rep"], r["backing"], r["mib"], r["vcpus"]), {}))
    out = pathlib.Path(results_dir)
    (out / f"{date}.json").write_text(json.dumps(runs, indent=1) + "\n")

    configs = sorted({(r["mib"], r["vcpus"]) for r in runs})
    backings = [b for b in BACKINGS if any(r["backing"] == b for r in runs)]
    group = {(mib, vcpus, b): [] for mib, vcpus in configs for b in backings}
    for r in runs:
        group[(r["mib"], r["vcpus"], r["backing"])].append(r)
    pairs = {(mib, vcpus, key, b): paired(group.get((mib, vcpus, "mapped"), []),
                                          group[(mib, vcpus, b)], key, mib_key)
             for mib, vcpus in configs for key, mib_key in PAIRED
             for b in backings if b != "mapped" and group[(mib, vcpus, b)]}

    counts = ", ".join(f"{b} {max(len(group[(m, v, b)]) for m, v in configs)}"
                       for b in backings)
    hotplug_mib = runs[0]["values"]["hotplug_mib"]
    lines = [f"Guest RAM touched by its vCPUs, then {hotplug_mib} MiB hot-added, "
             f"then a second (warm) guest; median of the runs ({counts}), "
             "[min-max] beside it.", "",
             "| MiB | vCPUs | backing | " + " | ".join(c[0] for c in COLUMNS) + " |",
             "|---" * (3 + len(COLUMNS)) + "|"]
    for mib, vcpus in configs:
        for backing in (b for b in backings if group[(mib, vcpus, b)]):
            cells = []
            for _, key, scale in COLUMNS:
                med, low, high = median_spread(group[(mib, vcpus, backing)], key, scale)
                cells.append(f"{med:.0f} [{low:.0f}-{high:.0f}]")
            lines.append(f"| {mib} | {vcpus} | {backing} | " + " | ".join(cells) + " |")
    reruns = sorted({r["rep"] for r in runs if r.get("try") == "rerun"})
    lines += ["", "Paired with mapped: per round, the run's time over the mapped run's; "
              f"the median of those ratios, its percentile-bootstrap 95% interval "
              f"({RESAMPLES} resamples), the rounds paired (0: the ratio of the medians), "
              "and the extra µs per populated 4 KiB page from the medians. per_folio "
              "runs after all rounds, so its pairs are not interleaved. Rounds rerun "
              f"for CPU pressure: {', '.join(map(str, reruns)) or 'none'}.", "",
              "| MiB | vCPUs | metric | backing | ratio | ci_low | ci_high | rounds | us_per_page |",
              "|---" * 9 + "|"]
    for (mib, vcpus, key, backing), e in pairs.items():
        if e:
            cells = [e[k] for k in ("ratio", "ci_low", "ci_high", "rounds", "us_per_page")]
            lines.append(f"| {mib} | {vcpus} | {key} | {backing} | " +
                         " | ".join("-" if c is None else f"{c:.3f}" if isinstance(c, float)
                                    else str(c) for c in cells) + " |")
    (out / "vm.md").write_text("\n".join(lines) + "\n")

    def per_gib(backing, key, mib_key):
        return statistics.median(r["values"][key] * 1024 / r["values"][mib_key]
                                 for r in runs if r["backing"] == backing)

    def ratio(backing, key):
        if backing == "mapped":
            return 1.0
        return statistics.median(pairs[(mib, vcpus, key, backing)]["ratio"]
                                 for mib, vcpus in configs
                                 if pairs.get((mib, vcpus, key, backing)))

    summary = {
        "flushes_per_gib_cold": {b: per_gib(b, "boot.direct_map_tlb_flushes", "boot_mib")
                                 for b in backings},
        "flushes_per_gib_warm": {b: per_gib(b, "warm.direct_map_tlb_flushes", "boot_mib")
                                 for b in backings},
        "directmap4k_delta_per_gib": {b: per_gib(b, "boot.DirectMap4k", "boot_mib")
                                      for b in backings},
        "populate_time_ratio_vs_mapped": {b: ratio(b, "boot.time_us") for b in backings},
        "hotplug_flushes_per_gib": {b: per_gib(b, "hotplug.direct_map_tlb_flushes",
                                               "hotplug_mib") for b in backings},
        "hotplug_time_ratio_vs_mapped": {b: ratio(b, "hotplug.time_us") for b in backings},
    }
    summary = {m: {b: round(v, 3) for b, v in d.items()} for m, d in summary.items()}
    # Per size and vCPU count ("256M/1v"), metric and backing.
    summary["paired_vs_mapped"] = {}
    for (mib, vcpus, key, backing), e in pairs.items():
        if e:
            summary["paired_vs_mapped"].setdefault(f"{mib}M/{vcpus}v", {}).setdefault(
                key, {})[backing] = e
    # The other parts of the bench write their own keys of summary.json.
    path = out / "summary.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(summary)
    path.write_text(json.dumps(merged, indent=1) + "\n")

    # Plot data: one row per size and vCPU count, one column per backing
    # (NaN, which gnuplot skips, where a backing has no runs).
    def plot_cell(mib, vcpus, backing, key, scale):
        runs = group.get((mib, vcpus, backing))
        return f"{median_spread(runs, key, scale)[0]:.1f}" if runs else "NaN"

    for name, key, scale in (("flushes", "boot.direct_map_tlb_flushes", 1),
                             ("populate", "boot.time_us", 1e-3)):
        rows = [f"{mib}M/{vcpus}v " + " ".join(plot_cell(mib, vcpus, b, key, scale)
                                               for b in BACKINGS)
                for mib, vcpus in configs]
        (out / f"vm-{name}.dat").write_text("# config " + " ".join(BACKINGS) + "\n" +
                                             "\n".join(rows) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
