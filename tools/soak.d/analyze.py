#!/usr/bin/env python3
"""Judges a soak run (tools/soak).

  analyze.py SAMPLES STATUS_JSON FAULTS [--heap HEAP_CSV] [--log DAEMON_LOG] [--asan]

SAMPLES: t_s,fds,rss_kb,status_ok,status_ms per sample; HEAP_CSV: t_s,heap_bytes (the
daemon's status daemon.heap_bytes: live bytes of the ASan allocator, or of glibc's); STATUS_JSON: the last status document; FAULTS: one line per
fault injected ("kind target"); DAEMON_LOG: for the transitions ("X is now OK|ERROR").
Prints the figures and a last line "soak: PASS" or "soak: FAIL: why"; exit status 0 on PASS.

Every series is judged after a warm-up (the first 15 % of the run: TLS sessions, DNS
contexts, ASan's quarantine filling up) by comparing its first and last third (median for
fds, mean for memory) and by a least-squares slope over the whole post-warm-up part:
  - open fds: last - first <= --fd-band (3);
  - live heap (when the daemon reports it): last - first <= max(--heap-band-kb 512, 5 %) — the leak signal;
  - RSS: last - first <= max(--rss-band-kb, --rss-band-pct of first): 2 MB / 3 % without
    ASan; with ASan 8 MB / 15 %, since its RSS also moves with the 16 MB quarantine and the
    allocator's per-size-class caches (the live heap above is the precise measure there).
"""
import argparse
import collections
import json
import re
import statistics
import sys


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def thirds(rows, t0, duration):
    """Rows after the warm-up, and their first and last thirds."""
    warm = [r for r in rows if r[0] - t0 >= 0.15 * duration]
    k = max(1, len(warm) // 3)
    return warm, warm[:k], warm[-k:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samples")
    ap.add_argument("status")
    ap.add_argument("faults")
    ap.add_argument("--heap")
    ap.add_argument("--log")
    ap.add_argument("--asan", action="store_true")
    ap.add_argument("--fd-band", type=int, default=3)
    ap.add_argument("--heap-band-kb", type=int, default=512)
    ap.add_argument("--rss-band-kb", type=int)
    ap.add_argument("--rss-band-pct", type=float)
    a = ap.parse_args()
    if a.rss_band_kb is None:
        a.rss_band_kb = 8192 if a.asan else 2048
    if a.rss_band_pct is None:
        a.rss_band_pct = 15.0 if a.asan else 3.0

    rows = []
    for line in open(a.samples):
        if line.startswith("t_s") or not line.strip():
            continue
        t, fds, rss, ok, ms = line.strip().split(",")
        rows.append((float(t), int(fds), int(rss), ok == "1", float(ms)))
    fails = []
    if len(rows) < 9:
        print("soak: FAIL: only %d samples" % len(rows))
        return 1
    t0 = rows[0][0]
    duration = rows[-1][0] - t0
    warm, first, last = thirds(rows, t0, duration)

    fds = [r[1] for r in rows]
    fd_first = statistics.median(r[1] for r in first)
    fd_last = statistics.median(r[1] for r in last)
    fd_slope = slope([r[0] / 60 for r in warm], [r[1] for r in warm])
    print("fd:   %d samples, min %d, max %d; after warm-up: median first third %g, last third %g,"
          " slope %+.3f/min" % (len(rows), min(fds), max(fds), fd_first, fd_last, fd_slope))
    if fd_last - fd_first > a.fd_band:
        fails.append("open fds grew from %g to %g (band %d)" % (fd_first, fd_last, a.fd_band))

    rss = [r[2] for r in rows]
    rss_first = statistics.mean(r[2] for r in first)
    rss_last = statistics.mean(r[2] for r in last)
    rss_slope = slope([r[0] / 60 for r in warm], [r[2] for r in warm])
    band = max(a.rss_band_kb, rss_first * a.rss_band_pct / 100)
    print("rss:  min %d kB, max %d kB; after warm-up: mean first third %.0f kB, last third %.0f kB"
          " (%+.1f %%, band %.0f kB), slope %+.1f kB/min"
          % (min(rss), max(rss), rss_first, rss_last, (rss_last - rss_first) * 100 / rss_first,
             band, rss_slope))
    if rss_last - rss_first > band:
        fails.append("RSS grew from %.0f to %.0f kB (band %.0f kB)" % (rss_first, rss_last, band))

    heap = []
    if a.heap:
        try:
            for line in open(a.heap):
                if line.startswith("t_s") or not line.strip():
                    continue
                t, b = line.strip().split(",")
                heap.append((float(t), int(b) / 1024.0))
        except (OSError, ValueError):
            heap = []
    if len(heap) >= 6:
        hw, hf, hl = thirds(heap, heap[0][0], heap[-1][0] - heap[0][0])
        h_first = statistics.mean(h[1] for h in hf)
        h_last = statistics.mean(h[1] for h in hl)
        h_slope = slope([h[0] / 60 for h in hw], [h[1] for h in hw])
        hband = max(a.heap_band_kb, h_first * 0.05)
        print("heap: %d samples, min %.0f kB, max %.0f kB; after warm-up: mean first third %.0f kB,"
              " last third %.0f kB (%+.1f %%, band %.0f kB), slope %+.1f kB/min"
              % (len(heap), min(h[1] for h in heap), max(h[1] for h in heap), h_first, h_last,
                 (h_last - h_first) * 100 / h_first, hband, h_slope))
        if h_last - h_first > hband:
            fails.append("live heap grew from %.0f to %.0f kB (band %.0f kB)"
                         % (h_first, h_last, hband))
    elif a.asan:
        print("heap: not sampled (the daemon reported no heap_bytes)")

    bad = [r for r in rows if not r[3]]
    ms = sorted(r[4] for r in rows if r[3])
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    print("status: %d/%d answered, latency median %.0f ms, p99 %.0f ms, max %.0f ms"
          % (len(rows) - len(bad), len(rows), statistics.median(ms) if ms else float("nan"), p99,
             ms[-1] if ms else float("nan")))
    if bad:
        fails.append("%d status requests unanswered (first at t=%.0f s)" % (len(bad), bad[0][0]))

    faults = collections.Counter(l.split()[0] for l in open(a.faults) if l.strip())
    print("faults: %d injected: %s" % (sum(faults.values()),
                                       ", ".join("%s %d" % kv for kv in sorted(faults.items()))))
    if a.log:
        seen = collections.Counter()
        pat = re.compile(r": ([A-Za-z0-9_]+)(?: \([^)]*\))? is now (OK|ERROR)")
        with open(a.log, errors="replace") as f:
            for line in f:
                m = pat.search(line)
                if m:
                    seen["%s>%s" % (m.group(1), m.group(2))] += 1
        print("transitions (log): %d: %s" % (sum(seen.values()),
                                              ", ".join("%s %d" % kv for kv in sorted(seen.items()))))
    try:
        st = json.load(open(a.status))
        fo = {k: v.get("failovers", 0) for k, v in st.get("servers", {}).items()}
        d = st.get("daemon", {})
        print("daemon: uptime %s s, cpu %s ms, loop lag %s ms; failovers %s"
              % (d.get("uptime_s"), d.get("cpu_ms"), d.get("loop_lag_ms"), json.dumps(fo)))
    except (OSError, ValueError) as e:
        fails.append("no final status document: %s" % e)

    if fails:
        print("soak: FAIL: " + "; ".join(fails))
        return 1
    print("soak: PASS (fd, memory and status judged over %.0f min)" % (duration / 60))
    return 0


sys.exit(main())
