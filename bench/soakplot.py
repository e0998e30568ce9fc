#!/usr/bin/env python3
"""Turns soakclient's samples into a Markdown table (stdout) and an SVG plot.

usage: soakplot.py SAMPLES.csv SUMMARY.json OUT.svg [SETTLED_AFTER_MINUTES]
Slopes are least-squares fits over the samples after the first tenth of the
run, or after SETTLED_AFTER_MINUTES (start-up, the first WAL growth and an ASan
build's quarantine filling up are not ageing).
"""
import csv
import json
import sys

SERIES = [
    ("rss_kib", "natterd RSS", "MiB", 1 / 1024),
    ("fds", "open descriptors", "", 1),
    ("threads", "threads", "", 1),
    ("wal_bytes", "SQLite WAL", "MiB", 1 / (1024 * 1024)),
]


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var


def main():
    samples_path, summary_path, svg_path = sys.argv[1:4]
    with open(samples_path, newline="") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    with open(summary_path) as f:
        summary = json.loads(f.read().strip().splitlines()[-1])
    minutes = [r["seconds"] / 60 for r in rows]
    settled_after = float(sys.argv[4]) if len(sys.argv) > 4 else minutes[-1] / 10
    settled = [i for i, m in enumerate(minutes) if m >= settled_after]

    print(f"| | start | end | min | max | slope after {settled_after:g} min (per 10 min) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for key, label, unit, scale in SERIES:
        values = [r[key] * scale for r in rows]
        fit = slope([minutes[i] for i in settled], [values[i] for i in settled]) * 10
        fmt = (lambda v: f"{v:.1f}") if unit else (lambda v: f"{v:.0f}")
        suffix = f" {unit}" if unit else ""
        print(f"| {label} | {fmt(values[0])}{suffix} | {fmt(values[-1])}{suffix} | {fmt(min(values))}{suffix} "
              f"| {fmt(max(values))}{suffix} | {fit:+.2f}{suffix} |")
    print()
    print(f"{summary['clients']} clients, {summary['duration_s'] // 60} min, {summary['cut_off']} cut off and "
          f"back; messages sent {summary['sent']}, acknowledged {summary['acknowledged']}, stored "
          f"{summary['stored']}, lost {summary['lost']}, duplicated {summary['duplicates']}; natterd exited "
          f"{'cleanly' if summary['natterd_clean_exit'] else 'BADLY'}, sanitizer report: "
          f"{'YES' if summary['sanitizer_report'] else 'none'}.")

    width, height, pad, gap = 720, 130, 48, 26
    total = len(SERIES) * (height + gap) + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
           f'viewBox="0 0 {width} {total}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{total}" fill="white"/>']
    x_max = max(minutes[-1], 1e-9)
    for n, (key, label, unit, scale) in enumerate(SERIES):
        top = gap + n * (height + gap)
        values = [r[key] * scale for r in rows]
        lo, hi = 0.0, max(max(values) * 1.15, 1e-9)
        plot_w, plot_h = width - pad - 16, height - 24
        points = " ".join(
            f"{pad + m / x_max * plot_w:.1f},{top + plot_h - (v - lo) / (hi - lo) * plot_h:.1f}"
            for m, v in zip(minutes, values))
        out.append(f'<text x="{pad}" y="{top - 6}" font-weight="bold">{label}'
                   f'{" (" + unit + ")" if unit else ""}</text>')
        out.append(f'<rect x="{pad}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>')
        for frac in (0, 0.5, 1):
            y = top + plot_h - frac * plot_h
            out.append(f'<text x="{pad - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                       f'{lo + frac * (hi - lo):.{1 if unit else 0}f}</text>')
        out.append(f'<polyline points="{points}" fill="none" stroke="#2a6fdb" stroke-width="1.6"/>')
        out.append(f'<text x="{pad + plot_w}" y="{top + plot_h + 16}" text-anchor="end" fill="#555">'
                   f'{x_max:.0f} min</text>')
        out.append(f'<text x="{pad}" y="{top + plot_h + 16}" fill="#555">0</text>')
    out.append("</svg>")
    with open(svg_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
