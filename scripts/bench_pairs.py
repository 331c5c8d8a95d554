#!/usr/bin/env python3
"""Interleaved timing for scripts/bench.sh: every comparison runs A B, B A, A B ... and is judged pair by pair.

Why: timing each command in its own block lets a busy spell land on one side only, and two runs of the same
code gave opposite verdicts (0.29x "missed" and 0.15x "met"). Here both sides of a pair run back to back (the
order alternates), and the ratio is taken per pair. The verdict is `met` only when the 95% confidence interval of
the median ratio (distribution-free, from order statistics) lies wholly on the right side of the target, and
`not met` otherwise. While the interval straddles the target, more pairs are run (up to --max-pairs or
--max-seconds); if it still straddles, the verdict is `not met`. One verdict for "wholly on the wrong side" and
"cannot tell" leaves a single boundary to flip across: a figure clearly past the target is `met` every time, one
near or below it `not met` every time, instead of swinging between `missed` and `unclear` (or `unclear` and `met`)
with the load. The machine's load average is printed with every figure.

Standard library only. Every line printed on stdout has the fixed format docs/benchmarks.md's figures block is
checked against (xtask/tests/it/benchmarks_doc.rs), so the doc can only be regenerated, not edited by hand.

  bench_pairs.py compare --name N --a-label L --a JSON --b-label L --b JSON [--figure time|wrk|pgbench] ...
  bench_pairs.py measure --name N --label L --cmd JSON [--target '< 150'] ...   (judged on CPU time)
  bench_pairs.py digest FILE            # the `digest` line for the block lines in FILE
"""

import argparse
import hashlib
import json
import math
import os
import re
import resource
import subprocess
import sys
import threading
import time


def load():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


def fmt(x):
    """Three significant figures, no exponent: 0.153, 12.3, 3320."""
    if x != x:
        return "nan"
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}"


def triple(xs):
    s = sorted(xs)
    return f"{fmt(s[0])} / {fmt(median(s))} / {fmt(s[-1])}"


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def median_ci(xs):
    """95% distribution-free CI of the median: order statistics k and n-k+1 with P(Binom(n, 1/2) < k) <= 0.025."""
    s = sorted(xs)
    n = len(s)
    # k: the largest i with P(B <= i) <= 0.025; the CI is [x(k+1), x(n-k)] 1-indexed, e.g. x(6)..x(15) of 20.
    k, cum = -1, 0.0
    for i in range(n + 1):
        cum += math.comb(n, i) / 2**n
        if cum > 0.025:
            break
        k = i
    if k < 0:
        return s[0], s[-1]
    return s[k], s[n - k - 1]


def judge(lo, hi, target):
    """`met` / `missed` / `unclear` for a CI [lo, hi] against a target like ('<=', 1.0) or ('>=', 0.9)."""
    if target is None:
        return "-"
    op, t = target
    if op in ("<=", "<"):
        ok_all, bad_all = (hi <= t) if op == "<=" else (hi < t), (lo > t) if op == "<=" else (lo >= t)
    else:
        ok_all, bad_all = (lo >= t) if op == ">=" else (lo > t), (hi < t) if op == ">=" else (hi <= t)
    return "met" if ok_all else "missed" if bad_all else "unclear"


def shown(verdict):
    """The printed verdict: `met`, or `not met` for both `missed` and `unclear` (see the module's doc)."""
    return "not met" if verdict in ("missed", "unclear") else verdict


def parse_target(s):
    if not s:
        return None
    m = re.fullmatch(r"\s*(<=|>=|<|>)\s*([0-9.]+)\s*", s)
    if not m:
        sys.exit(f"bench_pairs: target {s!r} is not like '<= 1.0' or '>= 0.9'")
    return m.group(1), float(m.group(2))


class RssSampler:
    """Peak VmRSS of one process (the server under load), sampled every 100 ms while a run lasts."""

    def __init__(self, pid_file):
        self.pid_file = pid_file
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = None

    def _pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _run(self):
        pid = self._pid()
        while pid and not self._stop.is_set():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except OSError:
                return
            self._stop.wait(0.1)

    def __enter__(self):
        self.peak_kb = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_bounded(cmd, timeout, capture):
    """Runs `cmd` to its end, killed after `timeout` seconds; a CompletedProcess.

    The wait blocks in waitpid and a timer thread enforces the bound. subprocess.run(timeout=...) instead polls with
    sleeps that double up to 50 ms, so every wall time it let us measure landed on its steps (63.5, 113.5, 163.5,
    213.5 ms ...): the no-op `cargo xtask build` and Docker's cached build both read 165 ms, a ratio of 1.00 made
    by the clock, not by the commands."""
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdout=pipe, stderr=pipe)
    fired = threading.Event()

    def kill():
        fired.set()
        p.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        # communicate() reads both pipes with a selector and then blocks in wait(): no polling either way.
        out, err = p.communicate()
    finally:
        timer.cancel()
    if fired.is_set():
        sys.exit(f"bench_pairs: `{' '.join(cmd)}` did not finish within {timeout} s")
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def run_once(cmd, figure, timeout, prepare):
    """Runs `cmd`; returns (figure value, extra dict). time: wall ms (+cpu); cpu: the CPU ms of the command and its
    children, user + sys (+wall); wrk: req/s (+p50/p99 ms); pgbench: tps."""
    if prepare:
        subprocess.run(prepare, check=True, stdout=subprocess.DEVNULL, timeout=timeout)
    capture = figure not in ("time", "cpu")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = run_bounded(cmd, timeout, capture)
    wall_ms = (time.perf_counter() - t0) * 1000
    out = (p.stdout or b"").decode(errors="replace")
    if p.returncode != 0:
        err = (p.stderr or b"").decode(errors="replace")
        sys.exit(f"bench_pairs: `{' '.join(cmd)}` exited {p.returncode}\n{out[-2000:]}{err[-2000:]}")
    if figure in ("time", "cpu"):
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_ms = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) * 1000
        return (wall_ms, {"cpu": cpu_ms}) if figure == "time" else (cpu_ms, {"wall": wall_ms})
    if figure == "wrk":
        m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        lat = dict(re.findall(r"^\s+(50|99)%\s+([0-9.]+\w+)", out, re.M))
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
        if not m or not lat:
            sys.exit(f"bench_pairs: no Requests/sec or latency distribution in wrk's output:\n{out}")
        if errors:
            sys.exit(f"bench_pairs: wrk saw errors ({errors.group(0)}); figures with errors are not comparable")
        return float(m.group(1)), {"p50": to_ms(lat["50"]), "p99": to_ms(lat["99"])}
    if figure == "pgbench":
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
        lat = re.search(r"latency average = ([0-9.]+) ms", out)
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if not m:
            sys.exit(f"bench_pairs: no tps in pgbench's output:\n{out}")
        if failed and int(failed.group(1)) > 0:
            sys.exit(f"bench_pairs: pgbench had failed transactions:\n{out}")
        return float(m.group(1)), {"avg": float(lat.group(1)) if lat else float("nan")}
    sys.exit(f"bench_pairs: unknown figure {figure}")


def to_ms(s):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", s)
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[u]


UNIT = {"time": "ms", "cpu": "cpu ms", "wrk": "req/s", "pgbench": "tps"}


def describe(label, figure, values, extras, per, rss):
    unit = UNIT[figure] + (f" per {per:g}" if per != 1 else "")
    text = f"{label}: {unit} {triple(values)}"
    if figure == "wrk":
        text += f", p50 ms {triple([e['p50'] for e in extras])}, p99 ms {triple([e['p99'] for e in extras])}"
    if figure == "pgbench":
        text += f", avg latency ms {triple([e['avg'] for e in extras])}"
    if figure == "cpu":
        text += f", wall ms{f' per {per:g}' if per != 1 else ''} {triple([e['wall'] / per for e in extras])}"
    if rss:
        text += f", peak RSS MB {triple([kb / 1024 for kb in rss])}"
    return text


def sample_until_clear(sample, figures, target, least, most, max_seconds):
    """Calls `sample` (which appends one figure to `figures`) at least `least` times, then until the 95% range of
    the median clears the target, `most` figures were taken or `max_seconds` passed. Returns (lo, hi, verdict)."""
    deadline = time.monotonic() + max_seconds
    while True:
        sample()
        if len(figures) < least:
            continue
        lo, hi = median_ci(figures)
        verdict = judge(lo, hi, target)
        if verdict != "unclear" or len(figures) >= most or time.monotonic() > deadline:
            return lo, hi, verdict


def compare(a):
    target = parse_target(a.target)
    cmd_a, cmd_b = json.loads(a.a), json.loads(a.b)
    prep_a = json.loads(a.prepare_a) if a.prepare_a else None
    prep_b = json.loads(a.prepare_b) if a.prepare_b else None
    sampler = RssSampler(a.rss_pid_file) if a.rss_pid_file else None
    load0 = load()
    for _ in range(a.warmup):
        run_once(cmd_a, a.figure_a, a.timeout, prep_a)
        run_once(cmd_b, a.figure_b, a.timeout, prep_b)
    va, vb, ea, eb, ratios, rss = [], [], [], [], [], []

    def pair():
        i = len(ratios)
        order = ("a", "b") if i % 2 == 0 else ("b", "a")
        got = {}
        for side in order:
            if side == "a":
                if sampler:
                    with sampler:
                        got["a"] = run_once(cmd_a, a.figure_a, a.timeout, prep_a)
                    rss.append(sampler.peak_kb)
                else:
                    got["a"] = run_once(cmd_a, a.figure_a, a.timeout, prep_a)
            else:
                got["b"] = run_once(cmd_b, a.figure_b, a.timeout, prep_b)
        x, y = got["a"][0] / a.a_per, got["b"][0] / a.b_per
        va.append(x)
        vb.append(y)
        ea.append(got["a"][1])
        eb.append(got["b"][1])
        ratios.append(x / y)

    lo, hi, verdict = sample_until_clear(pair, ratios, target, a.pairs, a.max_pairs, a.max_seconds)
    verdict = shown(verdict)
    tgt = f"A/B {target[0]} {fmt(target[1])}" if target else "-"
    line = (
        f"compare | {a.name} | A {describe(a.a_label, a.figure_a, va, ea, a.a_per, rss)} | "
        f"B {describe(a.b_label, a.figure_b, vb, eb, a.b_per, [])} | "
        f"A/B {triple(ratios)} | CI95 {fmt(lo)} - {fmt(hi)} | pairs {len(ratios)} | target {tgt} | {verdict} | "
        f"load {fmt(load0)} -> {fmt(load())}"
    )
    emit(line, a.out)


def measure(a):
    """One command, judged on its median CPU time (its own and its children's, user + sys): unlike the wall time,
    that does not grow when other jobs take the cores, so the verdict holds from one run to the next. The wall
    time is printed beside it."""
    target = parse_target(a.target)
    cmd = json.loads(a.cmd)
    prep = json.loads(a.prepare) if a.prepare else None
    load0 = load()
    for _ in range(a.warmup):
        run_once(cmd, "time", a.timeout, prep)
    wall, cpu = [], []

    def run():
        w, extra = run_once(cmd, "time", a.timeout, prep)
        wall.append(w)
        cpu.append(extra["cpu"])

    lo, hi, verdict = sample_until_clear(run, cpu, target, a.runs, a.max_runs, a.max_seconds)
    verdict = shown(verdict)
    tgt = f"median cpu {target[0]} {fmt(target[1])} ms" if target else "-"
    line = (
        f"measure | {a.name} | {a.label}: cpu ms {triple(cpu)}, wall ms {triple(wall)} | CI95 {fmt(lo)} - {fmt(hi)} | "
        f"runs {len(cpu)} | target {tgt} | {verdict} | load {fmt(load0)} -> {fmt(load())}"
    )
    emit(line, a.out)


def emit(line, out):
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def digest(path):
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f]
    print("digest | sha256 " + hashlib.sha256("\n".join(lines).encode()).hexdigest())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--name", required=True)
    c.add_argument("--a-label", required=True)
    c.add_argument("--b-label", required=True)
    c.add_argument("--a", required=True, help="command A as a JSON array")
    c.add_argument("--b", required=True, help="command B as a JSON array")
    c.add_argument("--figure", default="time", choices=["time", "cpu", "wrk", "pgbench"], help="both sides' figure")
    c.add_argument("--figure-a", choices=["time", "cpu", "wrk", "pgbench"])
    c.add_argument("--figure-b", choices=["time", "cpu", "wrk", "pgbench"])
    c.add_argument("--prepare-a", help="JSON command run (untimed) before every A")
    c.add_argument("--prepare-b", help="JSON command run (untimed) before every B")
    c.add_argument("--a-per", type=float, default=1, help="divide A's figure by this (per-image cost)")
    c.add_argument("--b-per", type=float, default=1)
    c.add_argument("--pairs", type=int, default=10)
    c.add_argument("--max-pairs", type=int, default=30)
    c.add_argument("--max-seconds", type=float, default=600, help="no more pairs after this long")
    c.add_argument("--warmup", type=int, default=1)
    c.add_argument("--timeout", type=float, default=300, help="seconds for one command")
    c.add_argument("--target", help="e.g. '<= 1.0' for the A/B ratio")
    c.add_argument("--rss-pid-file", help="file holding the pid whose peak RSS is sampled during A")
    c.add_argument("--out")
    m = sub.add_parser("measure")
    m.add_argument("--name", required=True)
    m.add_argument("--label", required=True)
    m.add_argument("--cmd", required=True)
    m.add_argument("--prepare")
    m.add_argument("--runs", type=int, default=20)
    m.add_argument("--max-runs", type=int, default=60, help="more runs while the verdict is unclear, up to this")
    m.add_argument("--max-seconds", type=float, default=300)
    m.add_argument("--warmup", type=int, default=1)
    m.add_argument("--timeout", type=float, default=300)
    m.add_argument("--target", help="e.g. '< 150' (ms of CPU, for the median)")
    m.add_argument("--out")
    d = sub.add_parser("digest")
    d.add_argument("file")
    a = p.parse_args()
    if a.mode == "compare":
        a.figure_a = a.figure_a or a.figure
        a.figure_b = a.figure_b or a.figure
        a.max_pairs = max(a.max_pairs, a.pairs)
        compare(a)
    elif a.mode == "measure":
        measure(a)
    else:
        digest(a.file)


if __name__ == "__main__":
    main()
