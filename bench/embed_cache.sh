#!/usr/bin/env bash
# Embed a benchmark set once and cache the vectors as a float32 .npy (rows in input order).
#
#   bench/embed_cache.sh INPUT OUT_NPY [extra `leann embed` options, e.g. --model NAME --prompt query]
#
# INPUT: a JSONL file with a "text" field and an optional "title" (bench/make_pydoc.py,
# bench/make_wordnet.py), or a TSV of queries "qid<TAB>text" (the text column is embedded).
# What is embedded is exactly what the index embeds: title + " " + text when a record has a non-empty
# title, else text. The default model is all-MiniLM-L6-v2 (leann's default).
#
# Environment: LEANN_BIN (default build/bin/leann; copied to a temporary file first, so a rebuild of
# build/ during the run does no harm), THREADS (default 2), BATCH (default: leann's). The run is
# niced (nice -n 10) and OpenBLAS picks its own kernels (OPENBLAS_CORETYPE unset).
set -euo pipefail
if [[ $# -lt 2 ]]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
input=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
leann_src=${LEANN_BIN:-$here/build/bin/leann}
threads=${THREADS:-2}

tmp=$(mktemp -d /tmp/embed_cache.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for i in 1 2 3 4 5 6 7 8 9 10; do   # the binary may be missing briefly while others rebuild
    cp "$leann_src" "$tmp/leann" 2>/dev/null && break
    echo "waiting for $leann_src ..." >&2
    sleep 30
done
[[ -x $tmp/leann ]] || { echo "no leann binary at $leann_src" >&2; exit 1; }

/usr/bin/python3 - "$input" "$tmp/texts.jsonl" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
n = titled = 0
with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
    for line in f:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if src.endswith(".tsv"):
            text = line.split("\t", 1)[1]
        else:
            rec = json.loads(line)
            text = rec["text"]
            if rec.get("title"):
                text = rec["title"] + " " + text
                titled += 1
        g.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
        n += 1
print(f"{src}: {n} texts ({titled} with the title prepended)", file=sys.stderr)
PY

batch=()
[[ -n ${BATCH:-} ]] && batch=(--batch-size "$BATCH")
mkdir -p "$(dirname "$out")"
start=$(date +%s.%N)
nice -n 10 env -u OPENBLAS_CORETYPE "$tmp/leann" embed "$tmp/texts.jsonl" --input-format jsonl \
    --output "$out.tmp.npy" --threads "$threads" "${batch[@]}" "$@"
end=$(date +%s.%N)
mv "$out.tmp.npy" "$out"
n=$(wc -l < "$tmp/texts.jsonl")
awk -v n="$n" -v s="$start" -v e="$end" -v o="$out" \
    'BEGIN { t = e - s; printf "%s: %d rows in %.1f s (%.1f rows/s)\n", o, n, t, n / t }' >&2
