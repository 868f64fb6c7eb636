"""Python package costs (issue 13): a search() call's overhead over the C++ call, import time, wheel size.

    build/pyenv/bin/python bench/python_bench.py [--docs 1000] [--queries 50]

Builds an index of WordNet noun glosses (wordnet-base, scripts/setup.sh) with the default model in a temporary
folder, then times, per query in a warm process: the library's own time for the call (SearchResult.seconds: query
embedding, search, passage reads, measured in C++) against the wall time of the Python call around it (argument
conversion, GIL release and re-acquisition, result objects), and the same through LeannSearcher.search (dataclass
results, metadata parsed from JSON). Import time is measured in fresh interpreters (median of 5).
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import leann


def glosses(limit: int) -> list[str]:
    out = []
    with open("/usr/share/wordnet/data.noun", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  ") or "|" not in line:
                continue
            words = line.split(" ")[4:5]
            gloss = line.split("|", 1)[1].strip()
            out.append(f"{words[0].replace('_', ' ') if words else ''}: {gloss}")
            if len(out) == limit:
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    texts = glosses(args.docs)
    queries = [t.split(":")[0] + " meaning" for t in texts[:: max(1, len(texts) // args.queries)]][: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.leann"
        builder = leann.LeannBuilder()
        for text in texts:
            builder.add_text(text)
        start = time.perf_counter()
        builder.build_index(path)
        print(f"built {len(texts)} docs in {time.perf_counter() - start:.1f} s")
        searcher = leann.LeannSearcher(path)
        index = searcher.index
        options = leann.SearchOptions()
        options.top_k = 5
        native, wall, api, api_native = [], [], [], []
        for q in queries:
            index.clear_cache()
            t0 = time.perf_counter()
            result = index.search(q, options)
            wall.append(time.perf_counter() - t0)
            native.append(result.seconds)
            # The reference-shaped layer (options, dataclasses, metadata JSON) over the same call, both warm: the
            # passages' embeddings are in the index's cache, so the calls differ only by the Python layer.
            index.search(q, options)
            t0 = time.perf_counter()
            warm = index.search(q, options)
            api_native.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            searcher.search(q, top_k=5)
            api.append(time.perf_counter() - t0)
        overhead = [w - n for w, n in zip(wall, native)]
        layer = [a - n for a, n in zip(api, api_native)]
        ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
        print(f"queries: {len(queries)}, top_k 5, default options")
        print(f"C++ call, cold cache (SearchResult.seconds) median: {ms(native):.2f} ms")
        print(f"Index.search from Python median: {ms(wall):.2f} ms; overhead over the C++ call: median "
              f"{ms(overhead):.3f} ms, p95 {1000 * sorted(overhead)[int(0.95 * len(overhead))]:.3f} ms")
        print(f"warm cache: Index.search median {ms(api_native):.2f} ms, LeannSearcher.search median {ms(api):.2f} ms; "
              f"the reference-shaped layer adds median {ms(layer):.3f} ms")
    imports = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import leann"], check=True)
        imports.append(time.perf_counter() - t0)
    numpy_only = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        numpy_only.append(time.perf_counter() - t0)
    print(f"python -c 'import leann' median: {ms(imports):.0f} ms (python -c 'import numpy': {ms(numpy_only):.0f} ms)")
    so = glob.glob(os.path.join(os.path.dirname(leann.__file__), "_core*.so"))
    print(f"extension module: {os.path.getsize(so[0]) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
