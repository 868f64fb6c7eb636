#!/usr/bin/env python3
"""SQLite FTS5 over the same passages, for the keyword index's data-structure choice (bench/README.md).

    python3 bench/fts5_compare.py PASSAGES.jsonl [--queries 300] [--seed 42]

Builds a contentless FTS5 table (the index alone; unicode61 tokenizer, default detail=full, then detail=none: no positions, like our
KWIX) in a temporary database, VACUUMs it, and reports its size and the mean time of 300 bm25() top-10 queries
of 1-3 words drawn from random passages. Uses Python's sqlite3 module (Debian's libsqlite3 has FTS5).
"""
import argparse
import json
import os
import random
import re
import sqlite3
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("passages")
ap.add_argument("--queries", type=int, default=300)
ap.add_argument("--seed", type=int, default=42)
args = ap.parse_args()
texts = [json.loads(line)["text"] for line in open(args.passages, encoding="utf-8")]
rng = random.Random(args.seed)
queries = []
while len(queries) < args.queries:
    words = re.findall(r"[A-Za-z]{3,}", texts[rng.randrange(len(texts))])
    if words:
        queries.append(" OR ".join(rng.choice(words).lower() for _ in range(rng.randint(1, 3))))
for detail in ("full", "none"):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fts.db")
        db = sqlite3.connect(path)
        t = time.perf_counter()
        db.execute(f"CREATE VIRTUAL TABLE p USING fts5(text, content='', detail={detail})")
        db.executemany("INSERT INTO p(text) VALUES (?)", ((x,) for x in texts))
        db.commit()
        db.execute("INSERT INTO p(p) VALUES('optimize')")
        db.commit()
        db.execute("VACUUM")
        build = time.perf_counter() - t
        size = os.path.getsize(path)
        t = time.perf_counter()
        for q in queries:
            db.execute("SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 10", (q,)).fetchall()
        per_query = (time.perf_counter() - t) / len(queries) * 1000
        db.close()
    raw = sum(len(x.encode()) for x in texts)
    print(f"fts5 detail={detail}: {len(texts)} passages, database {size / 1e6:.2f} MB = {size / len(texts):.1f} B/chunk "
          f"({100 * size / raw:.1f}% of raw text; contentless: the index alone), build {build:.1f} s, "
          f"{per_query:.3f} ms per query")
