#!/usr/bin/env bash
# leann grep against ripgrep over the same tree: builds an index of TREE (with MODEL, default the tiny test model:
# grep never uses the model, only the stored passages) and times both tools on a few patterns, best of 3 runs.
#   bench/grep_vs_rg.sh [TREE] [BUILD_DIR]      (defaults: /usr/include/c++/12, build)
# ripgrep comes from Debian (apt-get install ripgrep); without it the script says so and times leann grep alone.
set -euo pipefail
tree=${1:-/usr/include/c++/12}
build=${2:-build}
leann="$build/bin/leann"
model=${MODEL:-tests/golden/embeddings/tiny_models/tiny-cls-norm}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export LEANN_HOME="$home"
"$leann" build grepbench --docs "$tree" --model "$model" > "$home/build.json" 2> "$home/build.err"
# rg gets exactly the files the index holds (the build skips unsupported types such as .tcc).
sed -n 's/^warning: \(.*\): skipped: .*/\1/p' "$home/build.err" | sort > "$home/skipped"
find "$tree" -type f | sort | comm -23 - "$home/skipped" > "$home/files"
have_rg=1
command -v rg > /dev/null || { have_rg=0; echo "ripgrep (rg) is not installed: apt-get install ripgrep; timing leann grep only"; }

best_of_3() {  # prints the best wall time in ms of the command
    local best=""
    for _ in 1 2 3; do
        local t0 t1
        t0=$(date +%s%N)
        "$@" > /dev/null || true
        t1=$(date +%s%N)
        local ms=$(( (t1 - t0) / 1000000 ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    echo "$best"
}

printf '%-28s %10s %10s %10s %10s\n' pattern leann_ms leann_lines rg_ms rg_lines
for args in "-F|basic_string" "-F|_GLIBCXX_BEGIN_NAMESPACE_VERSION" "-i|template\s*<\s*typename _Tp" "|\b[A-Z_]{20,}\b" "-F|zzqqxx_no_match"; do
    flag=${args%%|*}
    pattern=${args#*|}
    # shellcheck disable=SC2086
    lm=$(best_of_3 "$leann" grep grepbench $flag -- "$pattern")
    # shellcheck disable=SC2086
    ll=$({ "$leann" grep grepbench $flag -- "$pattern" || true; } | wc -l)
    rm_="-"; rl="-"
    if [ "$have_rg" = 1 ]; then
        # shellcheck disable=SC2086
        rm_=$(best_of_3 xargs -a "$home/files" -d '\n' rg --no-config -j1 --no-heading -n $flag -- "$pattern")
        # shellcheck disable=SC2086
        rl=$({ xargs -a "$home/files" -d '\n' rg --no-config -j1 --no-heading -n $flag -- "$pattern" || true; } | wc -l)
    fi
    printf '%-28s %10s %10s %10s %10s\n' "$flag $pattern" "$lm" "$ll" "$rm_" "$rl"
done
python3 -c "import json,sys; b=json.load(open(sys.argv[1])); print('index:', b['files'], 'files,', b['chunks'], 'chunks,', b['raw_bytes'], 'raw bytes')" "$home/build.json"
# The fixed cost: opening the index and reading every chunk's metadata (a filter that matches no file).
echo "leann grep fixed cost (no file searched): $(best_of_3 "$leann" grep grepbench -F zzqqxx --path '*.matches-nothing') ms"
