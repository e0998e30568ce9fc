#!/usr/bin/env python3
"""Turns bench/pushpoll.sh's runs into a Markdown table (stdout) and an SVG plot.

usage: pushpollplot.py RUNS.jsonl OUT.svg
Each cell is the median of the runs of one method at one number of clients:
server CPU (share of one core), requests the server answered per second, and
the latency of a message at its recipients (p50, p99).
"""
import json
import math
import statistics
import sys

METHODS = [
    ("poll", "HTTP polling every second", "#d9822b"),
    ("poll-fast", "HTTP polling every 100 ms", "#e8b04a"),
    ("longpoll", "HTTP long polling", "#8a63d2"),
    ("push", "natterd WebSocket push", "#2a6fdb"),
]


def load(path):
    cells = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            run = json.loads(line)
            if run.get("bench") == "pollbench":
                method, clients = run["mode"], run["clients"]
                if method == "poll" and run["interval_ms"] != 1000:
                    method = "poll-fast"
                figures = {
                    "cpu_pct": run["server_cpu_pct"],
                    "requests": run["requests_per_s"],
                    "p50": run["p50_ms"],
                    "p99": run["p99_ms"],
                    "rss": run["server_rss_mib"],
                }
            elif run.get("workload") == "fanout":
                method, clients = "push", run["connections"]
                figures = {
                    "cpu_pct": 100.0 * run["server_cpu_s"] / run["duration_s"],
                    # the frames the server sends; the clients ask nothing
                    "requests": 0.0,
                    "p50": run["latency_p50_ms"],
                    "p99": run["latency_p99_ms"],
                    "rss": run["server_rss_kib"] / 1024.0,
                }
            else:
                continue
            cells.setdefault((method, clients), []).append(figures)
    return cells


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    runs_path, svg_path = sys.argv[1:3]
    cells = load(runs_path)
    sizes = sorted({clients for _, clients in cells})

    print("| clients | method | server CPU (one core) | requests/s | latency p50 | latency p99 | server RSS | runs |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for clients in sizes:
        for method, label, _ in METHODS:
            runs = cells.get((method, clients))
            if not runs:
                continue
            cpu = [r["cpu_pct"] for r in runs]
            print(f"| {clients:,} | {label} | {median(runs, 'cpu_pct'):.1f} % ({min(cpu):.1f}–{max(cpu):.1f}) "
                  f"| {median(runs, 'requests'):,.0f} | {median(runs, 'p50'):.1f} ms | {median(runs, 'p99'):.1f} ms "
                  f"| {median(runs, 'rss'):.0f} MiB | {len(runs)} |")

    # Two panels: server CPU (linear) and p50 latency (log scale), a group of bars per size.
    width, panel_h, pad_l, pad_t, gap = 760, 230, 70, 40, 70
    total = pad_t + 2 * (panel_h + gap) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
           f'viewBox="0 0 {width} {total}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{total}" fill="white"/>',
           f'<text x="{pad_l}" y="22" font-size="14" font-weight="bold">Clients waiting for a message a second: '
           f'server cost and latency (median of runs, 127.0.0.1)</text>']
    plot_w = width - pad_l - 20
    group_w = plot_w / max(len(sizes), 1)
    bar_w = group_w / (len(METHODS) + 1.5)

    def panel(top, title, key, log):
        values = [median(r, key) for r in cells.values()]
        hi = max(values) * 1.2 if values else 1
        lo = 1.0 if log else 0.0
        if log:
            hi = 10 ** math.ceil(math.log10(max(hi, 10)))
        else:  # a round top, so that the four ticks are round too
            step = 10 ** math.floor(math.log10(hi))
            hi = math.ceil(hi / step * 2) * step / 2
        plot_h = panel_h - 30

        def y_of(v):
            if log:
                v = max(v, lo)
                return top + plot_h - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * plot_h
            return top + plot_h - (v - lo) / (hi - lo) * plot_h

        out.append(f'<text x="{pad_l}" y="{top - 10}" font-weight="bold">{title}</text>')
        out.append(f'<rect x="{pad_l}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>')
        ticks = [10 ** e for e in range(0, int(math.log10(hi)) + 1)] if log else [hi * f / 4 for f in range(5)]
        for t in ticks:
            y = y_of(t)
            out.append(f'<line x1="{pad_l}" x2="{pad_l + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                       f'{t:g}</text>')
        for g, clients in enumerate(sizes):
            x0 = pad_l + g * group_w + bar_w * 0.75
            for m, (method, _, colour) in enumerate(METHODS):
                runs = cells.get((method, clients))
                if not runs:
                    continue
                v = median(runs, key)
                x = x0 + m * bar_w
                y = y_of(v)
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" '
                           f'height="{top + plot_h - y:.1f}" fill="{colour}"/>')
                out.append(f'<text x="{x + bar_w * 0.45:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                           f'font-size="11">{v:.3g}</text>')
            out.append(f'<text x="{pad_l + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 18}" '
                       f'text-anchor="middle">{clients:,} clients</text>')

    panel(pad_t + 20, "Server CPU, % of one core", "cpu_pct", False)
    panel(pad_t + 20 + panel_h + gap, "Latency p50, ms (log scale)", "p50", True)
    for n, (_, label, colour) in enumerate(METHODS):  # two a line
        x = pad_l + (n % 2) * 320
        y = total - 30 + (n // 2) * 18
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 18}" y="{y}">{label}</text>')
    out.append("</svg>")
    with open(svg_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
