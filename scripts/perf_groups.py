#!/usr/bin/env python3
"""Summarises `perf script -F pid,comm,ip,sym,dso` output of a `hops bench` run.

Prints each process's share of all samples (idle included), then, for the `hops` process
with the most samples (the `hops start` host that serves the throughput phase), where its
CPU time goes, grouped by area. Used by scripts/profile-bench.sh.
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
LINE = re.compile(r"^\s*(\S+)\s+(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")


def main() -> None:
    per_pid = collections.Counter()
    comm_of = {}
    samples = collections.defaultdict(list)
    total = 0
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        comm, pid, sym, dso = m.groups()
        total += 1
        per_pid[pid] += 1
        if comm in ("hops", "nats-server") or pid not in comm_of:
            comm_of[pid] = comm
        samples[pid].append((sym, dso))
    if not total:
        sys.exit("no samples: was perf run with -F pid,comm,ip,sym,dso?")
    print("Share of all samples (both cores, idle included):")
    for pid, n in per_pid.most_common(6):
        print(f"  {100 * n / total:5.1f}%  {comm_of.get(pid, '?')} (pid {pid})")
    hops = [pid for pid in per_pid if any("/hops" in d for _, d in samples[pid][:2000])]
    if not hops:
        return
    host = max(hops, key=per_pid.get)
    areas = collections.Counter()
    for sym, dso in samples[host]:
        for name, matches in AREAS:
            if matches(sym, dso):
                areas[name] += 1
                break
        else:
            areas["other"] += 1
    n = len(samples[host])
    print(f"\nThe measured host (pid {host}, {n} samples), by area:")
    for name, count in areas.most_common():
        print(f"  {100 * count / n:5.1f}%  {name}")


if __name__ == "__main__":
    main()
