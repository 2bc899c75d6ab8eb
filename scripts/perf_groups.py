#!/usr/bin/env python3
"""Summarises `perf script -F pid,comm,time,ip,sym,dso` output of a `hops bench` run.

Finds the `hops start` host that serves the throughput phase (a `hops` process without the
bench's own code), prints each process's share of the samples taken while it ran (idle
included), then where the host's CPU time goes, grouped by area. Used by scripts/profile-bench.sh.
"""
import collections
import re
import sys

# First match wins; order matters (kernel and JIT samples are told apart by their DSO).
AREAS = [
    ("kernel: syscalls, loopback TCP, wakeups, TLB shootdowns, page faults", lambda s, d: "kernel" in d),
    ("wasm guest code (JIT)", lambda s, d: "JIT" in d or "perf-" in d),
    ("glibc malloc/free", lambda s, d: "libc" in d and re.search(r"malloc|free|_int_|chunk|consolidate|realloc|memalign", s)),
    ("wasmtime: instantiate, host calls, WASI", lambda s, d: re.search(r"wasmtime|cranelift|wasi|wit_", s)),
    ("async-nats client: protocol parsing and writes", lambda s, d: re.search(r"async_nats|nuid", s)),
    ("tokio: scheduler, timers, channels", lambda s, d: re.search(r"tokio", s)),
    ("serde / serde_json", lambda s, d: re.search(r"serde", s)),
    ("tracing", lambda s, d: re.search(r"tracing", s)),
    ("hops runner and pipeline evaluation", lambda s, d: re.search(r"hops_runtime::runner|hops_pipeline|run_record|hcl", s)),
    ("hops bus: subjects, reads, deliveries", lambda s, d: re.search(r"hops_bus", s)),
    ("hops: other", lambda s, d: re.search(r"hops", s)),
    ("glibc memcpy/memset/string", lambda s, d: "libc" in d),
    ("std: formatting, strings, hashing, allocation glue", lambda s, d: re.search(r"fmt|format|String|str|hash|Hash|utf8|alloc", s)),
]
LINE = re.compile(r"^\s*(\S+)\s+(\d+)\s+([0-9.]+):\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def main() -> None:
    rows = []
    for line in sys.stdin:
        m = LINE.match(line)
        if m:
            comm, pid, time, sym, dso = m.groups()
            rows.append((comm, pid, float(time), sym, dso))
    if not rows:
        sys.exit("no samples: was perf script run with -F pid,comm,time,ip,sym,dso?")
    samples = collections.defaultdict(list)
    for comm, pid, time, sym, dso in rows:
        samples[pid].append((sym, dso))
    hops = [pid for pid in samples if any("/hops" in d for _, d in samples[pid])]
    # The bench process itself (latency phases, compiling the apps) shows its own code.
    hosts = [pid for pid in hops if not any("commands::bench" in s for s, _ in samples[pid])]
    if not hosts:
        sys.exit("no `hops start` host process among the samples")
    host = max(hosts, key=lambda pid: len(samples[pid]))
    times = [time for _, pid, time, _, _ in rows if pid == host]
    start, end = min(times), max(times)

    share = collections.Counter()
    names = {}
    for comm, pid, time, _, _ in rows:
        if start <= time <= end:
            share[pid] += 1
            if pid not in names or comm in ("hops", "nats-server"):
                names[pid] = comm
    total = sum(share.values())
    print(f"While the host served the throughput phase ({end - start:.1f} s), share of both cores:")
    for pid, n in share.most_common(5):
        label = {host: "hops start (the measured host)"}.get(pid, names[pid])
        # Any other process running hops code (by its binary, whatever the binary is called:
        # HOPS_BIN may be a copy named otherwise) is the bench itself.
        if pid in hops and pid != host:
            label = "hops bench (the load generator)"
        if pid == "0":
            label = "idle"
        print(f"  {100 * n / total:5.1f}%  {label}")

    areas = collections.Counter()
    for sym, dso in samples[host]:
        for name, matches in AREAS:
            if matches(sym, dso):
                areas[name] += 1
                break
        else:
            areas["other"] += 1
    n = len(samples[host])
    print(f"\nThe host's own CPU time ({n} samples), by area:")
    for name, count in areas.most_common():
        print(f"  {100 * count / n:5.1f}%  {name}")


if __name__ == "__main__":
    main()
