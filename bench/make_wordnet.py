#!/usr/bin/env python3
"""Build the WordNet benchmark set: one passage per synset, queries from synset lemmas.

    python3 bench/make_wordnet.py [--wordnet /usr/share/wordnet] [--out bench/data/wordnet]
                                  [--queries 300] [--seed 42]

Source: the WordNet 3.0 database files data.noun, data.verb, data.adj and data.adv shipped by Debian's
`wordnet-base` package (/usr/share/wordnet). Glosses and lemmas were written by WordNet's authors
(Princeton University), not by this project. The licence header lines (they start with two spaces) are
skipped.

Writes (generated, not committed):
  <out>/passages.jsonl  one record per synset (~117.7K):
                        {"id": "<pos>:<offset>", "text": gloss, "words": "lemma, lemma", "pos": n|v|a|s|r}
                        (lemma underscores become spaces, adjective markers such as "(p)" are dropped)
  <out>/queries.tsv     qid<TAB>text, where text is the lemma list ("words") of a synset drawn with a
                        seeded random sample: short, realistic queries whose answer is that synset's gloss.
  <out>/queries_source.tsv  qid<TAB>id of the synset each query was taken from.
"""
import argparse
import json
import os
import random
import re

FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]
ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def parse_line(line):
    """Parse one synset line of a WordNet data file; returns a record dict."""
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, _lex_filenum, ss_type = fields[0], fields[1], fields[2]
    w_cnt = int(fields[3], 16)
    words = []
    for i in range(w_cnt):
        w = ADJ_MARKER.sub("", fields[4 + 2 * i]).replace("_", " ")
        if w not in words:
            words.append(w)
    return {"id": f"{ss_type}:{offset}", "text": gloss.strip(), "words": ", ".join(words), "pos": ss_type}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "wordnet"))
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    records = []
    for name in FILES:
        with open(os.path.join(args.wordnet, name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or not line.strip():
                    continue  # licence header
                records.append(parse_line(line.rstrip("\n")))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "passages.jsonl"), "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    rng = random.Random(args.seed)
    picked, seen = [], set()
    for r in rng.sample(records, len(records)):
        if r["words"] in seen or len(r["words"]) < 3:
            continue
        seen.add(r["words"])
        picked.append(r)
        if len(picked) == args.queries:
            break
    with open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as f:
        for i, r in enumerate(picked):
            f.write(f"q{i:03d}\t{r['words']}\n")
    with open(os.path.join(args.out, "queries_source.tsv"), "w", encoding="utf-8") as f:
        for i, r in enumerate(picked):
            f.write(f"q{i:03d}\t{r['id']}\n")

    counts = {}
    for r in records:
        counts[r["pos"]] = counts.get(r["pos"], 0) + 1
    print(f"passages: {len(records)} {counts}; queries: {len(picked)} -> {args.out}")


if __name__ == "__main__":
    main()
