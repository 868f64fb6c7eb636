#!/usr/bin/env python3
"""`leann serve` under attack before authentication: do honest clients keep their latency?

Python standard library only. Builds a small index (bench/data/chunks256.jsonl, 175 chunks) with the tiny test
model (so the encoder is cheap and the front end is what is measured) in a throwaway LEANN_HOME, starts the server,
then runs `--clients` honest clients (one keep-alive connection each, POST /search in a loop) for `--seconds`:

  1. alone (the baseline);
  2. while `--slowloris` connections trickle a request one byte every `--trickle-s` seconds (reconnecting whenever
     the server cuts them, as a persistent attacker would), and `--flood` threads open connection after connection
     sending endless header bytes as fast as they can.

  bench/serve_attack_bench.py --leann build/bin/leann [--seconds 20] [--clients 16] [--slowloris 200] [--flood 2]

Prints a JSON document (and --out FILE): per phase the honest requests, errors, p50/p95/max latency, and the
attackers' counts (connections opened, cut by the server, answers seen: 408, 431, 503).
"""
import argparse
import atexit
import http.client
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TINY_MODEL = os.path.join(HERE, "..", "tests", "golden", "embeddings", "tiny_models", "tiny-cls-norm")
QUERIES = ["license terms", "redistribution of the work", "warranty disclaimer", "patent grant", "trademarks",
           "contributions submitted", "derivative works", "limitation of liability"]


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def start_server(leann, home, model, extra):
    env = dict(os.environ, LEANN_HOME=home)
    env.pop("LEANN_TOKEN", None)
    proc = subprocess.Popen([leann, "serve", "--port", "0", "--model", model] + extra, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on http://[^ ]*:(\d+)/", line)
    if not m:
        proc.kill()
        raise SystemExit(f"leann serve did not start: {line!r}")
    atexit.register(proc.kill)
    return proc, int(m.group(1))


def honest_clients(port, clients, seconds):
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.time() + seconds

    def client(c):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = 0
        while time.time() < deadline:
            body = json.dumps({"index": "bench", "query": QUERIES[(c + i) % len(QUERIES)], "top_k": 5}).encode()
            start = time.perf_counter()
            try:
                conn.request("POST", "/search", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                ok = response.status == 200 and len(json.loads(data)["results"]) == 5
                failure = None if ok else response.status
            except Exception as e:  # reset, timeout: counted, then a fresh connection
                ok, failure = False, type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors.append(str(failure))
            i += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
        "qps": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2), "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 2),
    }


class Attack:
    """Slowloris connections (one selector thread) and header floods (threads), until stop()."""

    def __init__(self, port, slowloris, trickle_s, flood):
        self.port, self.slowloris, self.trickle_s, self.flood = port, slowloris, trickle_s, flood
        self.stats = {"slowloris_opened": 0, "slowloris_cut": 0, "flood_connections": 0, "answers": {}}
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run_slowloris)] + \
                       [threading.Thread(target=self.run_flood) for _ in range(flood)]

    def answer(self, data):
        m = re.match(rb"HTTP/1\.1 (\d{3})", data or b"")
        key = m.group(1).decode() if m else "closed"
        with self.lock:
            self.stats["answers"][key] = self.stats["answers"].get(key, 0) + 1

    def open_slow(self, sel):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        sel.register(s, selectors.EVENT_READ, {"next": time.time(), "sent": 0})
        self.stats["slowloris_opened"] += 1

    def run_slowloris(self):
        request = b"POST /search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + b"X-a: b\r\n" * 1000
        sel = selectors.DefaultSelector()
        for _ in range(self.slowloris):
            self.open_slow(sel)
        while not self.stop_flag.is_set():
            for key, _ in sel.select(timeout=0.05):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                self.answer(data)
                sel.unregister(s)
                s.close()
                self.stats["slowloris_cut"] += 1
                self.open_slow(sel)  # a persistent attacker comes back at once
            now = time.time()
            for key in list(sel.get_map().values()):
                state = key.data
                if now >= state["next"]:
                    try:
                        key.fileobj.send(request[state["sent"] % len(request):][:1])
                    except OSError:
                        pass
                    state["sent"] += 1
                    state["next"] = now + self.trickle_s
        for key in list(sel.get_map().values()):
            key.fileobj.close()

    def run_flood(self):
        junk = b"X-Flood: " + b"a" * 65536
        while not self.stop_flag.is_set():
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", self.port))
                with self.lock:
                    self.stats["flood_connections"] += 1
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                for _ in range(64):  # up to 4 MiB of header per connection, until the server answers
                    s.sendall(junk)
            except OSError:
                pass
            try:
                self.answer(s.recv(4096))
            except OSError:
                self.answer(b"")
            s.close()

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        return self.stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leann", required=True)
    ap.add_argument("--model", default=TINY_MODEL)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--slowloris", type=int, default=200)
    ap.add_argument("--trickle-s", type=float, default=4)
    ap.add_argument("--flood", type=int, default=2)
    ap.add_argument("--serve-args", default="", help="extra `leann serve` arguments, space-separated")
    ap.add_argument("--out")
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="leann-attack-bench-")
    atexit.register(shutil.rmtree, home, True)
    subprocess.run([args.leann, "build", "bench", "--docs", os.path.join(HERE, "data", "chunks256.jsonl"),
                    "--model", args.model], env=dict(os.environ, LEANN_HOME=home), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc, port = start_server(args.leann, home, args.model, args.serve_args.split())
    honest_clients(port, args.clients, 2)  # warm-up: index opened, cache filled

    result = {"clients": args.clients, "seconds": args.seconds, "slowloris": args.slowloris,
              "trickle_s": args.trickle_s, "flood_threads": args.flood, "serve_args": args.serve_args}
    result["alone"] = honest_clients(port, args.clients, args.seconds)
    print("alone:", result["alone"], file=sys.stderr)
    attack = Attack(port, args.slowloris, args.trickle_s, args.flood)
    attack.start()
    time.sleep(2)  # let the slow connections pile up before measuring
    result["under_attack"] = honest_clients(port, args.clients, args.seconds)
    result["attack"] = attack.stop()
    print("under attack:", result["under_attack"], result["attack"], file=sys.stderr)
    proc.terminate()
    result["server_exit"] = proc.wait(timeout=60)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
