#!/usr/bin/env python3
"""Load and latency of `leann serve` (POST /search) against one `leann search` process per query.

Python standard library only (threads + http.client, keep-alive connections). Builds an index with the real
default model over real text (the Python tutorial that Debian ships) in a throwaway LEANN_HOME, starts the
server, measures QPS and p50/p95 latency at several client counts, then the same queries through the CLI
(model load included), and optionally a soak run that samples the server's RSS.

  bench/load_bench.py --leann build/bin/leann                       # the comparison
  bench/load_bench.py --leann build/bin/leann --soak 600 --clients 1,4,16
Results: a JSON document on stdout (and --out FILE); a summary on stderr.
"""
import argparse
import atexit
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

QUERIES = [
    "how do I define a class", "what is a list comprehension", "reading and writing files",
    "handling exceptions with try and except", "default argument values", "keyword arguments",
    "lambda expressions", "how do modules get imported", "the module search path", "formatted string literals",
    "dictionaries and their keys", "looping techniques over sequences", "tuples and sequences",
    "what does the break statement do", "using the range function", "virtual environments and packages",
    "floating point arithmetic issues", "instance variables versus class variables", "inheritance and super",
    "private variables and name mangling", "iterators and generators", "generator expressions",
    "the standard library os module", "regular expressions", "dates and times", "data compression",
    "performance measurement with timeit", "quality control with doctest", "multithreading",
    "logging module", "weak references", "decimal floating point", "interactive input editing",
    "raising exceptions", "defining clean-up actions", "the with statement", "packages and __init__.py",
    "unpacking argument lists", "documentation strings", "function annotations",
]


def default_model_dir():
    home = os.environ.get("LEANN_HOME")
    if home:
        return os.path.join(home, "models", "all-MiniLM-L6-v2")
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(data, "leann", "models", "all-MiniLM-L6-v2")


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Server:
    def __init__(self, leann, home, model, extra):
        env = dict(os.environ, LEANN_HOME=home)
        env.pop("LEANN_TOKEN", None)
        self.proc = subprocess.Popen([leann, "serve", "--port", "0", "--model", model] + extra, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on http://[^ ]*:(\d+)/", line)
        if not m:
            self.proc.kill()
            raise SystemExit(f"leann serve did not start: {line!r}")
        self.port = int(m.group(1))
        atexit.register(self.proc.kill)  # never leave a server behind if the script dies

    def stop(self):
        self.proc.terminate()
        return self.proc.wait(timeout=60)


def post_search(conn, index, query, top_k):
    # bytes, not str: http.client then sends headers and body in one segment (a str body goes in a second send,
    # and Nagle + delayed ACK would add 40 ms to every request, measuring the client instead of the server).
    body = json.dumps({"index": index, "query": query, "top_k": top_k}).encode()
    conn.request("POST", "/search", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def run_clients(port, index, clients, requests_per_client, top_k, deadline=None):
    """`clients` threads, each with one keep-alive connection, sending queries round-robin."""
    latencies, errors, lock = [], [], threading.Lock()

    def client(c):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        i = 0
        while (deadline is None and i < requests_per_client) or (deadline is not None and time.time() < deadline):
            query = QUERIES[(c * 7 + i) % len(QUERIES)]
            start = time.perf_counter()
            try:
                status, data = post_search(conn, index, query, top_k)
                ok = status == 200 and len(json.loads(data)["results"]) == top_k
            except Exception as e:  # connection reset, timeout: counted, then a fresh connection
                status, ok = repr(e), False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            elapsed = time.perf_counter() - start
            with lock:
                (latencies if ok else errors).append(elapsed if ok else status)
            i += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "requests": len(latencies) + len(errors), "errors": len(errors),
            "error_samples": [str(e) for e in errors[:5]], "seconds": wall,
            "qps": len(latencies) / wall, "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95), "mean_ms": 1000 * statistics.fmean(latencies) if latencies else None}


def run_cli(leann, home, model, index, clients, count, top_k):
    """`count` queries, each one `leann search` process (model load included), `clients` at a time."""
    env = dict(os.environ, LEANN_HOME=home, LEANN_NO_DAEMON="1")  # in-process: the search daemon would keep it warm
    latencies, lock, errors = [], threading.Lock(), []
    queue = list(range(count))

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop()
            start = time.perf_counter()
            r = subprocess.run([leann, "search", index, QUERIES[i % len(QUERIES)], "--top-k", str(top_k), "--json",
                                "--model", model], env=env, capture_output=True)
            elapsed = time.perf_counter() - start
            with lock:
                (latencies if r.returncode == 0 else errors).append(elapsed)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"clients": clients, "requests": count, "errors": len(errors), "seconds": wall,
            "qps": len(latencies) / wall, "p50_ms": 1000 * percentile(latencies, 50),
            "p95_ms": 1000 * percentile(latencies, 95)}


def soak(leann, home, model, index, seconds, clients, top_k, sample_s):
    server = Server(leann, home, model, [])
    samples = [{"t_s": 0, "rss_kib": rss_kib(server.proc.pid)}]
    result = {}

    def load():
        result.update(run_clients(server.port, index, clients, 0, top_k, deadline=time.time() + seconds))

    t = threading.Thread(target=load, daemon=True)
    begin = time.time()
    t.start()
    while t.is_alive():
        t.join(timeout=sample_s)
        samples.append({"t_s": round(time.time() - begin), "rss_kib": rss_kib(server.proc.pid)})
        print(f"  soak {samples[-1]['t_s']:4d} s: RSS {samples[-1]['rss_kib'] / 1024:.1f} MiB", file=sys.stderr)
    exit_code = server.stop()
    result.update({"rss_samples": samples, "exit_code": exit_code})
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leann", default="build/bin/leann")
    ap.add_argument("--model", default=default_model_dir())
    ap.add_argument("--docs", default="/usr/share/doc/python3.11/html/tutorial")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=400, help="requests per client count, warm cache (split over clients)")
    ap.add_argument("--cold-requests", type=int, default=8, help="requests per client count with --cache 0")
    ap.add_argument("--cli-queries", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--soak", type=int, default=0, help="seconds of soak after the comparison (0: none)")
    ap.add_argument("--soak-clients", type=int, default=4)
    ap.add_argument("--sample-s", type=int, default=30)
    ap.add_argument("--out")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that atexit stops the servers
    leann = os.path.abspath(args.leann)
    home = tempfile.mkdtemp(prefix="leann-load-bench-")
    try:
        env = dict(os.environ, LEANN_HOME=home)
        start = time.perf_counter()
        subprocess.run([leann, "build", "bench-serve", "--docs", args.docs, "--model", args.model], env=env,
                       check=True, capture_output=True)
        built = time.perf_counter() - start
        stats = json.loads(subprocess.run([leann, "stats", "bench-serve", "--json"], env=env, check=True,
                                          capture_output=True, text=True).stdout)
        print(f"index: {stats['chunks']} chunks from {args.docs}, built in {built:.1f} s", file=sys.stderr)
        report = {"docs": args.docs, "chunks": stats["chunks"], "model": args.model, "top_k": args.top_k,
                  "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), "serve": {}, "cli": []}
        client_counts = [int(c) for c in args.clients.split(",")]
        # Two servers: the default one (per-index cache of recomputed embeddings, which warms up as queries
        # repeat) and one with --cache 0, where every query recomputes its candidates as a one-shot CLI call does.
        for label, extra, requests in (("cache 0", ["--cache", "0", "--timeout-s", "600"], args.cold_requests),
                                        ("default cache", [], args.requests)):
            server = Server(leann, home, args.model, extra)
            # Load the model; with the cache, also let it fill as a server that has been up a while would have.
            run_clients(server.port, "bench-serve", 2, 1 if extra else len(QUERIES) // 2, args.top_k)
            rows = []
            for clients in client_counts:
                per_client = max(1, requests // clients)
                row = run_clients(server.port, "bench-serve", clients, per_client, args.top_k)
                rows.append(row)
                print(f"serve ({label}) {clients:2d} clients: {row['qps']:6.1f} q/s  p50 {row['p50_ms']:7.1f} ms  "
                      f"p95 {row['p95_ms']:7.1f} ms  errors {row['errors']}", file=sys.stderr)
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            conn.request("GET", "/health")
            report["serve"][label] = {"rows": rows, "health": json.loads(conn.getresponse().read())}
            server.stop()
        for clients in (1, 4):
            row = run_cli(leann, home, args.model, "bench-serve", clients, args.cli_queries, args.top_k)
            report["cli"].append(row)
            print(f"CLI {clients:2d} at a time: {row['qps']:6.2f} q/s  p50 {row['p50_ms']:7.1f} ms  "
                  f"p95 {row['p95_ms']:7.1f} ms  errors {row['errors']}", file=sys.stderr)
        if args.soak:
            print(f"soak: {args.soak} s, {args.soak_clients} clients", file=sys.stderr)
            report["soak"] = soak(leann, home, args.model, "bench-serve", args.soak, args.soak_clients, args.top_k,
                                  args.sample_s)
            s = report["soak"]
            print(f"soak: {s['requests']} requests, {s['errors']} errors, {s['qps']:.1f} q/s, p50 {s['p50_ms']:.1f} ms, "
                  f"p95 {s['p95_ms']:.1f} ms, exit {s['exit_code']}", file=sys.stderr)
        text = json.dumps(report, indent=1)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text + "\n")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
