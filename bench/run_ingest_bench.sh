#!/usr/bin/env bash
# Real trees through `leann build` (issue 4): the Python 3.11 HTML documentation, C headers from /usr/include and
# a folder of PDFs typeset by Debian's groff from manual pages. Reports files/s, chunks/s, index size against the
# text, and peak memory (GNU time). Results: bench/results/ingest_*.json (one JSON summary line per corpus).
#   bench/run_ingest_bench.sh [corpus...]      corpora: pydoc include pdf (default: all)
# Needs: python3.11-doc, man-db + groff (PDFs), the default model; runs the program at build/bin/leann.
set -euo pipefail
cd "$(dirname "$0")/.."
leann=${LEANN:-build/bin/leann}
work=${WORK:-/tmp/leann-ingest-bench}
results=bench/results
mkdir -p "$work" "$results"
export LEANN_HOME=$work/home
mkdir -p "$LEANN_HOME"
[ -e "$LEANN_HOME/models" ] || ln -s "${HOME}/.local/share/leann/models" "$LEANN_HOME/models"

make_pdfs() {
    # Manual pages of common tools (text we did not write), typeset to PDF by groff through man.
    local dir=$work/pdfs
    [ -d "$dir" ] && return
    mkdir -p "$dir"
    for page in ls cp mv find grep sed awk tar gzip ssh git make gcc bash curl rsync chmod chown ps top kill \
        mount df du diff patch sort uniq cut tr xargs date cron crontab systemctl journalctl ip ping less man; do
        man -w "$page" >/dev/null 2>&1 || continue
        man -Tpdf "$page" > "$dir/$page.pdf" 2>/dev/null || rm -f "$dir/$page.pdf"
    done
}

run() {  # name, then the --docs paths
    local name=$1; shift
    local out=$results/ingest_$name.json
    /usr/bin/time -v "$leann" build "bench-$name" --docs "$@" --force > "$work/$name.summary" 2> "$work/$name.stderr"
    local rss
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/$name.stderr")
    python3 - "$work/$name.summary" "$rss" "$name" "$out" "$@" <<'PY'
import json, os, sys
summary = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
docs = [d for d in sys.argv[5:] if not d.startswith("--")]
source_bytes = 0
for d in docs:
    if os.path.isfile(d):
        source_bytes += os.path.getsize(d)
    for root, _, names in os.walk(d):
        source_bytes += sum(os.path.getsize(os.path.join(root, n)) for n in names)
summary.update(corpus=sys.argv[3], peak_rss_kib=int(sys.argv[2]), docs=docs, source_bytes=source_bytes)
s = summary["seconds"]
summary["files_per_s"] = summary["files"] / s
summary["chunks_per_s"] = summary["chunks"] / s
summary["index_over_text"] = summary["index_bytes"] / summary["raw_bytes"]  # text read, before chunking
summary["index_over_source"] = summary["index_bytes"] / source_bytes
open(sys.argv[4], "w").write(json.dumps(summary, indent=1) + "\n")
print(json.dumps(summary))
PY
}

corpora=("$@")
[ ${#corpora[@]} -gt 0 ] || corpora=(pydoc include pdf)
for c in "${corpora[@]}"; do
    case $c in
        pydoc) run pydoc /usr/share/doc/python3.11/html/library /usr/share/doc/python3.11/html/tutorial \
                   /usr/share/doc/python3.11/html/howto /usr/share/doc/python3.11/html/reference ;;
        # The C library's headers and the others at the top of /usr/include (the whole of it, 133 MB with LLVM and
        # Node.js headers on this machine, would take hours to embed on 2 cores).
        include) run include /usr/include/*.h /usr/include/x86_64-linux-gnu/sys /usr/include/x86_64-linux-gnu/bits ;;
        pdf) make_pdfs; run pdf "$work/pdfs" ;;
        *) echo "unknown corpus $c" >&2; exit 2 ;;
    esac
done
