#!/usr/bin/env python3
"""sentence-transformers side of the encoder benchmark (the reference the C++
encoder is compared against; it reads the same input files as the C++ bench).

    /work/tmp/venv/bin/python bench/make_bench_texts.py          # once: inputs
    /work/tmp/venv/bin/python bench/st_encoder_bench.py \\
        bench/data/chunks256.jsonl bench/data/queries.jsonl [--threads 1,2]

For each torch thread count (torch.set_num_threads):
  chunks_per_s   encode --chunks N chunks of exactly 256 tokens (incl. [CLS]/
                 [SEP]; checked here) with batch_size 32, after one warm-up
                 batch; the median of --repeat timings.
  query_ms_p50   latency of model.encode([q]) for one short query at a time,
  query_ms_p95   --query-calls calls (cycling through the queries file) after
                 --query-warmup untimed calls.
One JSON object per measurement goes to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

DEFAULT_MODEL = os.environ.get("LEANN_MINILM_DIR",
                               "/root/.local/share/leann/models/all-MiniLM-L6-v2")


def read_texts(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def preprocess(model, texts):
    fn = getattr(model, "preprocess", None) or model.tokenize
    return fn(texts)


def n_tokens(model, text: str) -> tuple[int, int]:
    """(tokens the model sees, tokens without truncation), both incl. specials."""
    seen = int(preprocess(model, [text])["attention_mask"][0].sum())
    full = len(model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])
    return seen, full


def load() -> list[float] | None:
    """1/5/15-minute load average when measured (to judge a noisy machine)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def emit(rec: dict) -> None:
    print(json.dumps(rec), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chunks_file", help="JSONL with {'text'}: chunks of 256 tokens")
    ap.add_argument("queries_file", help="JSONL with {'text'}: short queries")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    ap.add_argument("--chunks", type=int, default=128, help="chunks per timed repetition")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions (median reported)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--query-calls", type=int, default=100)
    ap.add_argument("--query-warmup", type=int, default=10)
    ap.add_argument("--skip-chunks", action="store_true")
    ap.add_argument("--skip-queries", action="store_true")
    args = ap.parse_args()

    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model, device="cpu")
    model.eval()
    model_name = Path(args.model).name

    chunks_all = read_texts(args.chunks_file)
    queries = read_texts(args.queries_file)
    if not chunks_all or not queries:
        sys.exit("empty input file")
    # The chunks must be exactly 256 tokens and not truncated by the model.
    for i, c in enumerate(chunks_all[: args.chunks]):
        seen, full = n_tokens(model, c)
        if seen != 256 or full != 256:
            sys.exit(f"chunk {i} has {full} tokens ({seen} after truncation), expected 256")
    qtok = [n_tokens(model, q)[0] for q in queries]
    if max(qtok) > 16:
        print(f"warning: a query has {max(qtok)} tokens (> 16)", file=sys.stderr)
    # Cycle if the file holds fewer chunks than requested.
    chunks = [chunks_all[i % len(chunks_all)] for i in range(args.chunks)]

    common = {
        "impl": "sentence-transformers",
        "model": model_name,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }

    for t in [int(x) for x in args.threads.split(",") if x.strip()]:
        torch.set_num_threads(t)
        assert torch.get_num_threads() == t

        if not args.skip_chunks:
            # one warm-up batch
            model.encode(chunks[: args.batch_size], batch_size=args.batch_size,
                         convert_to_numpy=True, show_progress_bar=False)
            runs = []
            for r in range(args.repeat):
                t0 = time.perf_counter()
                emb = model.encode(chunks, batch_size=args.batch_size,
                                   convert_to_numpy=True, show_progress_bar=False)
                dt = time.perf_counter() - t0
                assert emb.shape[0] == len(chunks)
                runs.append(len(chunks) / dt)
                print(f"threads={t} rep {r}: {len(chunks)} chunks in {dt:.2f}s "
                      f"= {runs[-1]:.2f} chunks/s", file=sys.stderr)
            emit({**common, "threads": t, "metric": "chunks_per_s", "loadavg": load(),
                  "value": round(statistics.median(runs), 3),
                  "runs": [round(x, 3) for x in runs], "chunks": len(chunks),
                  "unique_chunks": min(len(chunks_all), len(chunks)),
                  "tokens_per_chunk": 256, "batch_size": args.batch_size,
                  "repeat": args.repeat})

        if not args.skip_queries:
            for i in range(args.query_warmup):
                model.encode([queries[i % len(queries)]], convert_to_numpy=True,
                             show_progress_bar=False)
            lat = []
            for i in range(args.query_calls):
                q = queries[i % len(queries)]
                t0 = time.perf_counter()
                model.encode([q], convert_to_numpy=True, show_progress_bar=False)
                lat.append((time.perf_counter() - t0) * 1000.0)
            extra = {"calls": len(lat), "warmup": args.query_warmup, "loadavg": load(),
                     "query_tokens_max": max(qtok), "query_tokens_mean": round(float(np.mean(qtok)), 2)}
            emit({**common, "threads": t, "metric": "query_ms_p50",
                  "value": round(float(np.percentile(lat, 50)), 3), **extra})
            emit({**common, "threads": t, "metric": "query_ms_p95",
                  "value": round(float(np.percentile(lat, 95)), 3), **extra})
            print(f"threads={t} query ms: p50={np.percentile(lat, 50):.2f} "
                  f"p95={np.percentile(lat, 95):.2f} min={min(lat):.2f} max={max(lat):.2f}",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
