#!/usr/bin/env python3
"""Measure `hops bench`'s shapes on Huey and Celery, each over a Redis broker, so Hops can be
compared with them on the same machine in the same session (docs/PERFORMANCE.md, "Peers").

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install huey celery redis
    sudo apt-get install redis-server              # or any redis-server on PATH
    /tmp/peers/bin/python scripts/bench-peers.py --json > peers.json
    target/release/hops bench --json > hops.json

The shapes are the bench's: one call (event -> first call), a 10-step sequential run (per-step
overhead), a wide run of --wide parallel calls, a long run of --long sequential steps, and
throughput of 3-step runs with 16 in flight. Each step is a no-op `echo` task, chained the way
each library chains work natively (Huey `.then()`, Celery `chain`/`group`); a run's end is
signalled by its last task over a Redis list, so no result polling inflates the figures.

Redis runs with an append-only file (fsync every second), the closest it has to JetStream's
file storage; workers ack late where the library allows it (Celery `task_acks_late`), so a
lost worker's task runs again, as a Hops call does. Every run is checked to have executed each
of its calls exactly once, or the script fails.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid

TASKS = {
    "huey": textwrap.dedent(
        """
        import os, time
        import redis
        from huey import RedisHuey
        PORT = int(os.environ["PEERS_REDIS_PORT"])
        huey = RedisHuey("hopsbench", host="127.0.0.1", port=PORT, results=False)
        r = redis.Redis(host="127.0.0.1", port=PORT)

        # A dict returned to `.then()` would become keyword arguments; a 1-tuple stays one.
        @huey.task()
        def echo(x):
            return (step(x),)
        """
    ),
    "celery": textwrap.dedent(
        """
        import os, time
        import redis
        from celery import Celery
        PORT = int(os.environ["PEERS_REDIS_PORT"])
        app = Celery("tasks", broker=f"redis://127.0.0.1:{PORT}/0")
        app.conf.update(task_acks_late=True, task_ignore_result=True,
                        worker_prefetch_multiplier=4, broker_connection_retry_on_startup=True)
        r = redis.Redis(host="127.0.0.1", port=PORT)

        @app.task
        def echo(x):
            return step(x)
        """
    ),
}

# Shared by both task modules: count the execution, signal the first entry and the run's end.
STEP = textwrap.dedent(
    """
    def step(x):
        entered = time.monotonic()
        run = x["run"]
        pipe = r.pipeline()
        pipe.hincrby(f"calls:{run}", x["call"], 1)
        if x.get("first"):
            pipe.rpush(f"entered:{run}", entered)
        pipe.incr(f"finished:{run}")
        finished = pipe.execute()[-1]
        if finished == x["expect"]:
            r.rpush(f"done:{run}", time.monotonic())
        return dict(x, call=x["call"] + 1, first=False)
    """
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(sample):
    if not sample:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0}
    sample = sorted(sample)

    def rank(q):
        index = min(max(int(-(-q * len(sample) // 1)), 1), len(sample)) - 1
        return round(sample[index], 3)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99)}


class Redis:
    def __init__(self, work):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", work,
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        for _ in range(100):
            try:
                self.client.ping()
                return
            except Exception:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Peer:
    """One library: its task module, a worker process, and how it enqueues a run."""

    def __init__(self, name, work, port, concurrency):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "tasks.py"), "w") as f:
            f.write(TASKS[name] + STEP)
        env = dict(os.environ, PEERS_REDIS_PORT=str(port), PYTHONPATH=self.dir)
        bin_dir = os.path.dirname(sys.executable)
        if name == "huey":
            cmd = [os.path.join(bin_dir, "huey_consumer"), "tasks.huey", "-w", str(concurrency),
                   "-k", "thread", "-q"]
        else:
            cmd = [os.path.join(bin_dir, "celery"), "-A", "tasks", "worker", "-c",
                   str(concurrency), "--pool", "prefork", "-l", "warning", "--without-gossip",
                   "--without-mingle", "--without-heartbeat"]
        self.worker = subprocess.Popen(cmd, cwd=self.dir, env=env, stdout=subprocess.DEVNULL,
                                       stderr=open(os.path.join(self.dir, "worker.log"), "w"))
        os.environ["PEERS_REDIS_PORT"] = str(port)
        sys.path.insert(0, self.dir)
        sys.modules.pop("tasks", None)
        import tasks  # noqa: E402  (the module written above)

        self.tasks = tasks

    def chain(self, x, steps):
        echo = self.tasks.echo
        if self.name == "huey":
            pipeline = echo.s(x)
            for _ in range(steps - 1):
                pipeline = pipeline.then(echo)
            self.tasks.huey.enqueue(pipeline)
        else:
            from celery import chain

            chain(echo.s(x), *[echo.s() for _ in range(steps - 1)]).apply_async()

    def wide(self, run, calls):
        echo = self.tasks.echo
        xs = [{"run": run, "call": i, "expect": calls} for i in range(calls)]
        if self.name == "huey":
            for x in xs:
                echo(x)
        else:
            from celery import group

            group(echo.s(x) for x in xs).apply_async()

    def stop(self):
        self.worker.terminate()
        try:
            self.worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.worker.kill()


def start_run(peer, r, steps, wide=None):
    run = uuid.uuid4().hex
    started = time.monotonic()
    if wide:
        peer.wide(run, wide)
    else:
        peer.chain({"run": run, "call": 0, "first": True, "expect": steps}, steps)
    return run, started


def wait_done(r, run, limit=120):
    got = r.blpop(f"done:{run}", timeout=limit)
    if got is None:
        raise SystemExit(f"run {run} did not finish within {limit}s")
    return float(got[1])


def check_once(r, run, calls):
    counts = {int(k): int(v) for k, v in r.hgetall(f"calls:{run}").items()}
    if len(counts) != calls or any(v != 1 for v in counts.values()):
        raise SystemExit(f"run {run}: expected {calls} calls each executed once, got {counts}")


def measure(peer, r, args):
    for _ in range(20):  # warm up
        run, _ = start_run(peer, r, 3)
        wait_done(r, run)
    first = []
    for _ in range(args.runs):
        run, started = start_run(peer, r, 1)
        entered = float(r.blpop(f"entered:{run}", timeout=60)[1])
        wait_done(r, run)
        first.append((entered - started) * 1000)
    step = []
    for _ in range(max(args.runs // 2, 5)):
        run, started = start_run(peer, r, 10)
        step.append((wait_done(r, run) - started) * 1000 / 10)
        check_once(r, run, 10)
    wide, long_step = [], []
    for _ in range(args.shape_runs):
        run, started = start_run(peer, r, None, wide=args.wide)
        wide.append((wait_done(r, run, 600) - started) * 1000)
        check_once(r, run, args.wide)
    for _ in range(args.shape_runs):
        run, started = start_run(peer, r, args.long)
        long_step.append((wait_done(r, run, 600) - started) * 1000 / args.long)
        check_once(r, run, args.long)
    completed, in_flight, runs = 0, [], []
    deadline = time.monotonic() + args.duration
    began = time.monotonic()
    while time.monotonic() < deadline or in_flight:
        while time.monotonic() < deadline and len(in_flight) < 16:
            run, _ = start_run(peer, r, 3)
            in_flight.append(run)
            runs.append(run)
        got = r.blpop([f"done:{run}" for run in in_flight], timeout=60)
        if got is None:
            raise SystemExit("a throughput run did not finish within 60s")
        in_flight.remove(got[0].decode().split(":", 1)[1])
        completed += 1
    elapsed = time.monotonic() - began
    for run in runs:
        check_once(r, run, 3)
    return {
        "event_to_first_call_ms": percentiles(first),
        "step_overhead_ms": percentiles(step),
        "throughput_runs_per_s": round(completed / elapsed, 3),
        "throughput_runs_checked": completed,
        "wide_calls": args.wide,
        "wide_run_ms": percentiles(wide),
        "wide_per_call_ms": percentiles([w / args.wide for w in wide]),
        "long_steps": args.long,
        "long_step_overhead_ms": percentiles(long_step),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default="huey,celery")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--wide", type=int, default=1000)
    parser.add_argument("--long", type=int, default=200)
    parser.add_argument("--shape-runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds of throughput")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2,
                        help="worker threads (Huey) or processes (Celery)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not on PATH: apt-get install redis-server")
    work = tempfile.mkdtemp(prefix="hops-peers-")
    redis_server = Redis(work)
    report = {}
    try:
        for name in args.peers.split(","):
            redis_server.client.flushall()
            peer = Peer(name, work, redis_server.port, args.concurrency)
            try:
                report[name] = measure(peer, redis_server.client, args)
            except BaseException:
                with open(os.path.join(peer.dir, "worker.log")) as log:
                    sys.stderr.write(f"{name} worker log (last lines):\n")
                    sys.stderr.writelines(log.readlines()[-20:])
                raise
            finally:
                peer.stop()
    finally:
        redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(report))
        return
    for name, figures in report.items():
        print(name)
        for key, value in figures.items():
            print(f"  {key:<24} {value}")


if __name__ == "__main__":
    main()
