#!/usr/bin/env python3
"""Convert Fashion-MNIST to plain float32 .npy matrices (stdlib only, no numpy).

    python3 bench/make_fmnist.py [--src /usr/share/datasets/fashion-mnist] [--out bench/data/fmnist]
                                 [--queries 300]

Source: Fashion-MNIST (Zalando Research), IDX files shipped by Debian's `dataset-fashion-mnist`
package: train-images-idx3-ubyte.gz (60,000 28x28 images) and t10k-images-idx3-ubyte.gz (10,000).

Writes (generated, not committed), .npy format version 1.0, '<f4', C order, pixel values / 255:
  <out>/base.npy     60000 x 784 float32, the training images
  <out>/queries.npy  --queries x 784 float32, the first test images
"""
import argparse
import array
import gzip
import os
import struct
import sys


def read_idx_images(path):
    """Returns (count, rows*cols, raw uint8 bytes) of an IDX3 image file (big-endian header)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x00000803:
        raise ValueError(f"{path}: not an IDX3 uint8 file (magic {magic:#x})")
    pixels = data[16:]
    if len(pixels) != count * rows * cols:
        raise ValueError(f"{path}: {len(pixels)} bytes for {count}x{rows}x{cols}")
    return count, rows * cols, pixels


def write_npy_f32(path, values, rows, cols):
    """Writes a float32 array('f') as a (rows, cols) little-endian C-order .npy (format 1.0)."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    pad = 64 - (10 + len(header) + 1) % 64  # magic(6)+version(2)+len(2)+header+'\n' -> multiple of 64
    header = header + " " * pad + "\n"
    if sys.byteorder != "little":
        values = array.array("f", values)
        values.byteswap()
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        values.tofile(f)


def to_float(pixels):
    table = [b / 255.0 for b in range(256)]
    return array.array("f", (table[b] for b in pixels))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "fmnist"))
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    n, dim, pixels = read_idx_images(os.path.join(args.src, "train-images-idx3-ubyte.gz"))
    write_npy_f32(os.path.join(args.out, "base.npy"), to_float(pixels), n, dim)
    print(f"base.npy: {n} x {dim}")

    n, dim, pixels = read_idx_images(os.path.join(args.src, "t10k-images-idx3-ubyte.gz"))
    q = min(args.queries, n)
    write_npy_f32(os.path.join(args.out, "queries.npy"), to_float(pixels[:q * dim]), q, dim)
    print(f"queries.npy: {q} x {dim} -> {args.out}")


if __name__ == "__main__":
    main()
