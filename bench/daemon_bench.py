#!/usr/bin/env python3
"""One-shot `leann search` latency, cold (in-process, --no-daemon) vs warm (served by the search daemon).

    python3 bench/make_wordnet.py                      # bench/data/wordnet/passages.jsonl, queries.tsv
    python3 bench/daemon_bench.py --leann build/bin/leann [--passages N] [--runs 40] [--out FILE.json]
    python3 bench/daemon_bench.py --index PATH --queries Q.tsv [--top-k 5] ...   an existing index instead

Builds an index of the first N WordNet glosses (default 2,000; one JSONL record each) with the default model in a
throwaway LEANN_HOME (the model folder is linked from $LEANN_MODELS, default ~/.local/share/leann/models) and a
private runtime folder (XDG_RUNTIME_DIR), so neither the user's indexes nor their daemon are touched. Then, for
each of `--runs` WordNet queries (lemma lists, bench/data/wordnet/queries.tsv), one `leann search NAME QUERY
--top-k 10 --json` process in each mode, alternating which goes first so that load on the machine hits both
alike. Each time is the wall time of the whole process (start, load or connect, search, print), measured here.
With --index, that index file is searched (`--index PATH`, nothing built) with the queries of --queries (qid<TAB>text
lines; default: the WordNet ones).

Before the timed runs one warm search starts the daemon (the first use: the spawn, the model load and the index
open are paid there; its time is reported as "first use"). Warm queries are all different: the daemon's cache of
recomputed embeddings holds the earlier queries' candidates, as it would for a person searching one index.
Then the first 20 queries once more, warm: their candidates are all in the cache, so this is the floor of the warm
path (process start, connect, query embedding, walk, printing). Also reported: whether the two modes returned the same hits with the same scores (they should, always), and the
mean recomputations and cache hits per query in each mode (from --json stats).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(leann, env, args):
    start = time.perf_counter()
    p = subprocess.run([leann] + args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"leann {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return elapsed, p.stdout, p.stderr


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leann", default="build/bin/leann")
    ap.add_argument("--data", default=os.path.join(HERE, "data", "wordnet"))
    ap.add_argument("--passages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--index", help="an existing index file to search instead of building one of WordNet glosses")
    ap.add_argument("--queries", help="qid<TAB>text lines (default: DATA/queries.tsv)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    leann = os.path.abspath(a.leann)
    work = tempfile.mkdtemp(prefix="leann-daemon-bench-")
    try:
        home = os.path.join(work, "home")
        runtime = os.path.join(work, "run")
        os.makedirs(home)
        os.makedirs(runtime, mode=0o700)
        models = os.environ.get("LEANN_MODELS", os.path.expanduser("~/.local/share/leann/models"))
        os.symlink(models, os.path.join(home, "models"))
        env = dict(os.environ, LEANN_HOME=home, XDG_RUNTIME_DIR=runtime)
        env.pop("LEANN_NO_DAEMON", None)

        queries = []
        with open(a.queries or os.path.join(a.data, "queries.tsv"), encoding="utf-8") as f:
            for line in f:
                qid, _, text = line.rstrip("\n").partition("\t")
                if text:
                    queries.append(text)
        if len(queries) < a.runs + 1:
            raise SystemExit(f"need {a.runs + 1} queries, {len(queries)} in {a.queries or a.data + '/queries.tsv'}")
        if a.index:
            target = ["--index", os.path.abspath(a.index)]
        else:
            docs = os.path.join(work, "passages.jsonl")
            with open(os.path.join(a.data, "passages.jsonl"), encoding="utf-8") as src, open(docs, "w") as dst:
                for i, line in enumerate(src):
                    if i >= a.passages:
                        break
                    dst.write(line)
            build_s, _, _ = run(leann, dict(env, LEANN_NO_DAEMON="1"), ["build", "bench", "--docs", docs])
            print(f"built {a.passages} passages in {build_s:.1f} s", flush=True)
            target = ["bench"]

        def search(query, daemon):
            args = ["search"] + target + [query, "--top-k", str(a.top_k), "--json"]
            args += [] if daemon else ["--no-daemon"]
            seconds, out, err = run(leann, env, args)
            result = json.loads(out.strip().splitlines()[-1])
            return seconds, result

        first_s, _ = search(queries[-1], True)  # starts the daemon (not among the timed queries)
        cold, warm, same = [], [], 0
        stats = {"cold": {"recomputed": [], "cache_hits": []}, "warm": {"recomputed": [], "cache_hits": []}}
        for i in range(a.runs):
            q = queries[i]
            order = [False, True] if i % 2 == 0 else [True, False]
            results = {}
            for daemon in order:
                seconds, result = search(q, daemon)
                mode = "warm" if daemon else "cold"
                (warm if daemon else cold).append(seconds)
                results[mode] = result
                for key in ("recomputed", "cache_hits"):
                    stats[mode][key].append(result["stats"][key])
            hits = {m: [(h["id"], h["score"]) for h in r["results"]] for m, r in results.items()}
            same += hits["cold"] == hits["warm"]
            print(f"{i + 1:3d}/{a.runs}  cold {cold[-1]:.3f} s  warm {warm[-1]:.3f} s", flush=True)
        # The floor of the warm path: queries the daemon has seen, whose candidates are all cached (process start,
        # connect, query embedding, walk, passages, printing).
        cached = [search(queries[i], True)[0] for i in range(min(a.runs, 20))]
        status = json.loads(run(leann, env, ["daemon", "status", "--json"])[1])
        run(leann, env, ["daemon", "stop"])
        summary = {
            "index": a.index or f"{a.passages} WordNet glosses",
            "passages": None if a.index else a.passages,
            "runs": a.runs,
            "top_k": a.top_k,
            "first_use_s": first_s,
            "cold_p50_s": statistics.median(cold),
            "cold_p90_s": percentile(cold, 0.9),
            "warm_p50_s": statistics.median(warm),
            "warm_p90_s": percentile(warm, 0.9),
            "warm_repeat_p50_s": statistics.median(cached),
            "identical_results": same,
            "mean": {m: {k: statistics.mean(v) for k, v in s.items()} for m, s in stats.items()},
            "daemon": {k: status.get(k) for k in ("requests_served", "rss_bytes", "model_loads", "index_opens")},
            "loadavg": os.getloadavg(),
            "cold_s": cold,
            "warm_s": warm,
        }
        print(json.dumps({k: v for k, v in summary.items() if k not in ("cold_s", "warm_s")}, indent=1))
        if a.out:
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            with open(a.out, "w") as f:
                json.dump(summary, f, indent=1)
    finally:
        subprocess.run([leann, "daemon", "stop"], env=dict(os.environ, LEANN_HOME=os.path.join(work, "home"),
                                                           XDG_RUNTIME_DIR=os.path.join(work, "run")),
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
