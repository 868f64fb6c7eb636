#!/usr/bin/env python3
"""Generate the encoder benchmark inputs from real text present on the machine.

    /work/tmp/venv/bin/python bench/make_bench_texts.py [--model DIR] [--out bench/data]

Source text: the license texts in /usr/share/common-licenses/ (shipped by
Debian's `base-files` package, so present on every Debian 12 install, python
or not; symlinks such as GPL -> GPL-3 are skipped so no text is used twice).
Nobody in this project wrote them.

Writes (generated, not committed):
  <out>/chunks256.jsonl  {"text", "source", "tokens": 256} per line: each text
                         tokenizes to exactly 256 tokens including [CLS]/[SEP]
                         with the model's tokenizer (no truncation involved).
  <out>/queries.jsonl    100 short queries {"text", "source", "tokens"}, 5-16
                         tokens including [CLS]/[SEP].
  <out>/manifest.json    sources with sha256, counts, tokenizer used.

How chunks are cut: every source file is whitespace-collapsed and tokenized
once (no special tokens); a window of 254 word pieces starting at a word
boundary is mapped back to the original text through the tokenizer's offsets
(so the chunk is natural cased text, equivalent to decoding the window), and
the chunk is kept only if re-tokenizing it gives exactly 254 + 2 tokens.
Windows do not overlap; a window that fails the round trip is dropped and
the next start is one word later.  Everything is deterministic: same source
files + same tokenizer.json give byte-identical outputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

SOURCE_DIR = Path("/usr/share/common-licenses")
DEFAULT_MODEL = Path(os.environ.get("LEANN_MINILM_DIR",
                                    "/root/.local/share/leann/models/all-MiniLM-L6-v2"))
WINDOW = 254          # word pieces; + [CLS] + [SEP] = 256
N_QUERIES = 100
QUERY_MIN, QUERY_MAX = 5, 16   # tokens incl. [CLS]/[SEP]


def load_sources() -> list[tuple[str, str, str]]:
    out = []
    for p in sorted(SOURCE_DIR.iterdir()):
        if p.is_symlink() or not p.is_file():
            continue
        raw = p.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        text = re.sub(r"\s+", " ", text).strip()
        out.append((p.name, text, hashlib.sha256(raw).hexdigest()))
    if not out:
        sys.exit(f"no source files under {SOURCE_DIR}")
    return out


def load_tokenizer(model_dir: Path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # all-MiniLM-L6-v2's tokenizer.json carries truncation=128 and fixed
    # padding=128; the sentence-transformers model itself uses 256.
    tok.no_truncation()
    tok.no_padding()
    return tok


def n_tokens(tok, text: str) -> int:
    return len(tok.encode(text, add_special_tokens=True).ids)


def make_chunks(tok, sources) -> list[dict]:
    chunks = []
    for name, text, _ in sources:
        enc = tok.encode(text, add_special_tokens=False)
        toks, offs, words = enc.tokens, enc.offsets, enc.word_ids
        n = len(toks)
        s = 0
        while s + WINDOW <= n:
            # start on a word boundary (never on a ##continuation piece)
            if s > 0 and words[s] is not None and words[s] == words[s - 1]:
                s += 1
                continue
            e = s + WINDOW
            piece = text[offs[s][0]:offs[e - 1][1]]
            if n_tokens(tok, piece) == WINDOW + 2:
                chunks.append({"text": piece, "source": name, "tokens": WINDOW + 2})
                s = e
            else:
                # move to the next word
                w = words[s]
                s += 1
                while s < n and words[s] == w:
                    s += 1
    return chunks


def make_queries(tok, sources) -> list[dict]:
    """Short queries: the first few words of sentences of the source texts.
    Candidates are taken round-robin over the source files, every 5th
    sentence of each file first (then the ones in between), so the queries
    spread over all documents; the number of words cycles through a fixed
    pattern.  Duplicates and candidates outside 5-16 tokens are skipped."""
    lengths = [4, 6, 8, 5, 10, 7, 3, 9, 12, 6, 5, 8]
    stride = 5
    per_doc = []
    for name, text, _ in sources:
        cands = []
        for s in re.split(r"(?<=[.;:!?])\s+", text):
            words = s.split()
            # skip section numbers, all-caps headings' noise and fragments
            if len(words) >= 3 and re.match(r"[A-Za-z]", words[0]):
                cands.append(words)
        per_doc.append((name, cands))
    longest = max(len(c) for _, c in per_doc)
    queries, seen, k = [], set(), 0
    for phase in range(stride):
        for i in range(phase, longest, stride):
            for name, cands in per_doc:
                if i >= len(cands):
                    continue
                words = cands[i]
                q = " ".join(words[:lengths[k % len(lengths)]]).strip(" .,;:()\"'")
                k += 1
                nt = n_tokens(tok, q)
                if QUERY_MIN <= nt <= QUERY_MAX and q.lower() not in seen:
                    seen.add(q.lower())
                    queries.append({"text": q, "source": name, "tokens": nt})
                    if len(queries) == N_QUERIES:
                        return queries
    sys.exit(f"only {len(queries)} queries could be made")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description="make bench/data/{chunks256,queries}.jsonl")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                    help="model folder with tokenizer.json (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    args = ap.parse_args()

    tok = load_tokenizer(args.model)
    sources = load_sources()
    chunks = make_chunks(tok, sources)
    queries = make_queries(tok, sources)

    # final verification
    assert all(n_tokens(tok, c["text"]) == 256 for c in chunks)
    assert all(QUERY_MIN <= n_tokens(tok, q["text"]) <= QUERY_MAX for q in queries)

    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "chunks256.jsonl", chunks)
    write_jsonl(args.out / "queries.jsonl", queries)
    tj = (args.model / "tokenizer.json").read_bytes()
    manifest = {
        "source_dir": str(SOURCE_DIR),
        "sources": [{"file": n, "sha256": h} for n, _, h in sources],
        "tokenizer_json": str(args.model / "tokenizer.json"),
        "tokenizer_json_sha256": hashlib.sha256(tj).hexdigest(),
        "chunks": len(chunks),
        "chunk_tokens": 256,
        "queries": len(queries),
        "query_tokens_range": [QUERY_MIN, QUERY_MAX],
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    per_src = {}
    for c in chunks:
        per_src[c["source"]] = per_src.get(c["source"], 0) + 1
    print(f"{len(chunks)} chunks of 256 tokens {per_src}")
    print(f"{len(queries)} queries, tokens "
          f"{min(q['tokens'] for q in queries)}-{max(q['tokens'] for q in queries)}")
    print(f"wrote {args.out}/chunks256.jsonl, queries.jsonl, manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
