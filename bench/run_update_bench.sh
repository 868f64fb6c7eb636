#!/usr/bin/env bash
# Living indexes: cost of updating an index in place (`leann build` on an existing index, `leann watch`).
#
#   bench/run_update_bench.sh            # GLOSS_FILES=2000 (x 10 glosses = 20,000 glosses)
#   GLOSS_FILES=200 bench/run_update_bench.sh     # a quick run
#   GLOSS_FILES=10000 CHUNK_SIZE=24 STEPS=edits bench/run_update_bench.sh   # ~100K chunks: build + one-file edits
#
# Works in LEANN_HOME=$(mktemp -d) (the model folder is linked from $LEANN_MODELS, default
# ~/.local/share/leann/models), so the user's indexes are never touched. The text tree goes to
# bench/data/update_tree (git-ignored), raw JSON lines to bench/results/update_bench.jsonl, the summary to
# bench/results/update_bench.json. Steps:
#   1. tree of GLOSS_FILES .txt files, 10 WordNet glosses each, one per paragraph (bench/update_tree.py)
#   2. initial build; then EDITS (default 5) x (replace one gloss paragraph in one file, `leann build` again)
#   3. 3 x (delete 10% of the files, add as many new files of unused glosses, `leann build` again);
#      `leann verify --recall $QUERIES` and `leann stats --json`; a fresh index of the final tree, same verify
#   4. `leann watch --json` in the background; 20 x (append a sentence to one file, time until its JSON line)
set -euo pipefail
cd "$(dirname "$0")/.."
LEANN=${LEANN:-build/bin/leann}
FILES=${GLOSS_FILES:-2000}
RERANKS=${RERANKS:-auto,4,6,8,12,16,24,32,64}   # verify --rerank sweep: the default policy and the
                                                # recomputations fixed sizes need for a given recall
STEPS=${STEPS:-all}         # all | edits (steps 1 and 2 only)
QUERIES=${QUERIES:-400}   # verify --recall: sampled queries (the same chunks for both indexes)
EDITS=${EDITS:-5}           # one-file edits in step 2 (0: churn a freshly built index)
# SEED (default 7): which glosses make the tree (bench/update_tree.py --seed), for independent repeats
case "$STEPS" in all|edits) ;; *) echo "STEPS must be all or edits" >&2; exit 2;; esac
SUFFIX=; [ "$FILES" != 2000 ] && SUFFIX=_$FILES
CHUNK_OPTS=(--chunk-size "${CHUNK_SIZE:-48}" --chunk-overlap 0)   # chunks of a few glosses; the 256-token default makes one chunk per file
export LEANN_HOME=$(mktemp -d)
ln -s "${LEANN_MODELS:-$HOME/.local/share/leann/models}" "$LEANN_HOME/models"
TREE=bench/data/update_tree
RAW=bench/results/update_bench$SUFFIX.jsonl
mkdir -p bench/data bench/results
rm -rf "$TREE" "$TREE.state.json"
: > "$RAW"
WATCH_PID=
cleanup() { [ -n "$WATCH_PID" ] && kill -INT "$WATCH_PID" 2>/dev/null; rm -rf "$LEANN_HOME"; }
trap cleanup EXIT

# rec STEP [key=value...]: wrap one JSON object from stdin with "step" and extra fields, append to $RAW
rec() { python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
extra = dict(a.split("=", 1) for a in sys.argv[2:])
for k, v in extra.items():
    try: extra[k] = json.loads(v)
    except ValueError: pass
print(json.dumps({"step": sys.argv[1], **extra, **d}))' "$@" | tee -a "$RAW"; }
# verify_json STEP NAME: `leann verify --recall $QUERIES` (a text report) turned into JSON
verify_json() {
  local t0 t1 out
  t0=$(date +%s.%N); out=$("$LEANN" verify "$2" --recall "$QUERIES" --rerank "$RERANKS" 2>&1); t1=$(date +%s.%N)
  printf '%s\n' "$out" >&2
  python3 -c '
import json, re, sys
out, t = sys.argv[1], float(sys.argv[3]) - float(sys.argv[2])
sweep = [dict(k=int(m[1]), recall=float(m[2]), queries=int(m[3]), complexity=m[4], rerank=m[5] if m[5] == "auto" else int(m[5]),
              recomputations=float(m[6]), s_per_query=float(m[7]))
         for m in re.finditer(r"recall@(\d+) ([0-9.]+) over (\d+) sampled queries \(complexity (\w+), rerank (\d+|auto)\): ([0-9.]+) recomputations and ([0-9.]+)s per query", out)]
c = re.search(r"\((\d+) live chunks, (\d+) deleted, generation (\d+)\)", out)
d = {"ok": " OK " in out, "seconds": round(t, 2), "text": out, "sweep": sweep}
if sweep: d.update({k: v for k, v in sweep[-1].items()})
if c: d.update(live=int(c[1]), deleted=int(c[2]), generation=int(c[3]))
print(json.dumps(d))' "$out" "$t0" "$t1" | rec "$1" name="$2"
}
stats_json() { "$LEANN" stats "$2" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: d.get(k) for k in ("nodes", "chunks", "deleted", "generation", "file_bytes", "reclaimable_bytes", "edges", "raw_text_bytes")}))' | rec "$1" name="$2"; }

echo "== machine: $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(nproc) cores, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-unset}" >&2
echo "{\"cpu\": \"$(lscpu | grep 'Model name' | sed 's/.*: *//')\", \"nproc\": $(nproc), \"openblas_coretype\": \"${OPENBLAS_CORETYPE-unset}\", \"date\": \"$(date -u +%FT%TZ)\", \"files\": $FILES, \"chunk_opts\": \"${CHUNK_OPTS[*]}\"}" | rec env

echo "== 1. tree" >&2
python3 bench/update_tree.py init "$TREE" --files "$FILES" --seed "${SEED:-7}" | rec tree

echo "== 2. initial build, then $EDITS one-file edits" >&2
"$LEANN" build upd --docs "$TREE" "${CHUNK_OPTS[@]}" | rec build_initial
for r in $(seq 1 "$EDITS"); do
  edit=$(python3 bench/update_tree.py edit "$TREE" --round "$r")
  "$LEANN" build upd --docs "$TREE" "${CHUNK_OPTS[@]}" | rec edit round="$r" what="$edit"
done

if [ "$STEPS" = all ]; then
echo "== 3. churn: 3 x (delete 10%, add 10%)" >&2
for r in 1 2 3; do
  ch=$(python3 bench/update_tree.py churn "$TREE" --round "$r")
  "$LEANN" build upd --docs "$TREE" "${CHUNK_OPTS[@]}" | rec churn round="$r" what="$ch"
done
stats_json stats_updated upd
verify_json verify_updated upd
"$LEANN" build fresh --docs "$TREE" "${CHUNK_OPTS[@]}" | rec build_fresh
stats_json stats_fresh fresh
verify_json verify_fresh fresh
# compaction through the library (IndexWriter.compact(), via the Python binding when it is installed)
PY=${PY:-build/pyenv/bin/python}
if "$PY" -c "import leann" 2>/dev/null; then
  "$PY" - "$LEANN_HOME/indexes/upd/index.leann" "$LEANN_HOME/models/all-MiniLM-L6-v2" <<'PYC' | rec compact
import json, sys, leann
w = leann.IndexWriter(sys.argv[1], leann.Encoder.load(sys.argv[2]))
s = w.compact()
w.close()
print(json.dumps({"seconds": s.seconds, "index_bytes": s.index_bytes, "bytes_written": s.bytes_written}))
PYC
  stats_json stats_compacted upd
else
  echo "(no Python binding at $PY: compaction step skipped)" >&2
fi

echo "== 4. watch latency: 20 appends" >&2
WOUT=$LEANN_HOME/watch.out; WERR=$LEANN_HOME/watch.err
"$LEANN" watch upd --json > "$WOUT" 2> "$WERR" &
WATCH_PID=$!
until [ -s "$WOUT" ] && [ -s "$WERR" ]; do   # ready: its first status line (stdout) and its "watching/following N path" note (stderr)
  kill -0 "$WATCH_PID" 2>/dev/null || { cat "$WERR" >&2; exit 1; }
  sleep 0.02
done
for r in $(seq 1 20); do
  n=$(wc -l < "$WOUT")
  t0=$(date +%s.%N)
  what=$(python3 bench/update_tree.py append "$TREE" --round "$r")
  t0=$(date +%s.%N)          # the save is done: latency counts from here
  deadline=$(( $(date +%s) + 120 ))
  while [ "$(wc -l < "$WOUT")" -le "$n" ]; do
    [ "$(date +%s)" -gt "$deadline" ] && { echo "no watch line after 120 s" >&2; cat "$WERR" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s.%N)
  sed -n "$((n + 1))p" "$WOUT" | rec watch round="$r" latency_s="$(python3 -c "print(round($t1 - $t0, 4))")" what="$what"
  lines=$(wc -l < "$WOUT")
  [ "$lines" -gt $((n + 1)) ] && echo "note: $((lines - n)) watch lines for round $r" >&2
done
kill -INT "$WATCH_PID"; wait "$WATCH_PID" && wrc=0 || wrc=$?
WATCH_PID=
echo "{\"exit\": $wrc, \"stderr\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$WERR")}" | rec watch_exit
stats_json stats_after_watch upd
fi

python3 - "$RAW" "bench/results/update_bench$SUFFIX.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = lambda s: [r for r in rows if r["step"] == s]
def med(xs): return statistics.median(xs)
edits = by("edit")
watch = sorted(r["latency_s"] for r in by("watch"))
b0 = by("build_initial")[0]
s = {
  "env": by("env")[0],
  "initial_build": {k: b0[k] for k in ("seconds", "chunks", "embedded", "index_bytes", "stage_seconds")},
  "edit_median": {
    "seconds": med([r["seconds"] for r in edits]), "embedded": med([r["embedded"] for r in edits]),
    "bytes_written": med([r["bytes_written"] for r in edits]), "index_bytes": med([r["index_bytes"] for r in edits]),
    "written_share": med([r["bytes_written"] / r["index_bytes"] for r in edits]),
  } if edits else None,
  "edits": [{k: r.get(k) for k in ("round", "seconds", "embedded", "chunks_added", "chunks_removed", "chunks_changed", "files_changed", "bytes_written", "index_bytes", "generation", "compacted", "stage_seconds")} for r in edits],
}
def at_recall(sweep, target=0.90):
  """Recomputations per query where recall@3 first reaches target (linear between sweep points)."""
  pts = sorted((p["recomputations"], p["recall"]) for p in sweep if p["rerank"] != "auto")  # fixed sizes only
  for (r0, c0), (r1, c1) in zip(pts, pts[1:]):
    if c0 >= target: return r0
    if c1 >= target: return r0 + (r1 - r0) * (target - c0) / (c1 - c0)
  return pts[0][0] if pts and pts[0][1] >= target else None
if by("churn"):
  s.update({
  "recomputations_at_recall_0.90": {"updated": at_recall(by("verify_updated")[0]["sweep"]),
                                    "fresh": at_recall(by("verify_fresh")[0]["sweep"])},
  # the default adaptive re-rank ("auto" in RERANKS): recall@3 and recomputations per query
  "adaptive": {name: [(p["recall"], p["recomputations"]) for p in by(step)[0]["sweep"] if p["rerank"] == "auto"]
               for name, step in (("updated", "verify_updated"), ("fresh", "verify_fresh"))},
  "churn": [{k: r.get(k) for k in ("round", "seconds", "files_added", "files_removed", "embedded", "chunks", "chunks_added", "chunks_removed", "bytes_written", "index_bytes", "generation", "compacted")} for r in by("churn")],
  "stats_updated": by("stats_updated")[0], "stats_fresh": by("stats_fresh")[0],
  "stats_compacted": (by("stats_compacted") or [None])[0],
  "verify_updated": {k: v for k, v in by("verify_updated")[0].items() if k != "text"},
  "verify_fresh": {k: v for k, v in by("verify_fresh")[0].items() if k != "text"},
  "build_fresh": {k: by("build_fresh")[0][k] for k in ("seconds", "chunks", "embedded", "index_bytes")},
  "watch": {"n": len(watch), "p50_s": med(watch) if watch else None, "max_s": max(watch) if watch else None,
            "latencies_s": watch, "embedded": [r.get("embedded") for r in by("watch")],
            "update_seconds": [r.get("seconds") for r in by("watch")], "exit": by("watch_exit")[0]["exit"]},
  })
json.dump(s, open(sys.argv[2], "w"), indent=2)
print(json.dumps(s, indent=2))
PY
