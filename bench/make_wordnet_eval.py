#!/usr/bin/env python3
"""Build the WordNet word-sense set for `leann eval`: a usage example is the query, its sense's entry the answer.

    python3 bench/make_wordnet_eval.py [--wordnet /usr/share/wordnet] [--out bench/data/eval/wordnet]
                                       [--records 6000] [--queries 300] [--seed 42]

Source: WordNet 3.0 (data.noun, data.verb, data.adj, data.adv) from Debian's `wordnet-base` package. The glosses,
the usage examples and which sense each example illustrates were written by WordNet's lexicographers (Princeton
University), not by this project: that assignment is the relevance judgement.

A WordNet gloss is "definition; "example"; "example"". Each synset becomes one record whose text is its entry
without the examples: "lemma, lemma: definition". A query is the first usage example (4+ words) of a seeded
sample of synsets; the relevant record is the synset it illustrates (grade 1; every synset carrying that same
example sentence if there are several). The corpus holds the query synsets, every other sense of their lemmas
(the hard distractors: "run" has 41 verb senses, whose examples mostly use the same word), and a seeded sample of
other synsets up to --records.

Writes (generated, not committed):
  <out>/corpus.jsonl   {"id": "<pos>:<offset>", "text": "lemmas: definition", "pos"}
  <out>/queries.tsv    qid<TAB>example sentence
  <out>/qrels.tsv      TREC qrels: qid 0 <pos>:<offset> 1
"""
import argparse
import json
import os
import random
import re

FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]
ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")
EXAMPLE = re.compile(r'"([^"]+)"')


def parse_line(line):
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, ss_type = fields[0], fields[2]
    w_cnt = int(fields[3], 16)
    words = []
    for i in range(w_cnt):
        w = ADJ_MARKER.sub("", fields[4 + 2 * i]).replace("_", " ")
        if w not in words:
            words.append(w)
    # Definition: the gloss up to the first quoted example; examples: the quoted parts.
    quote = gloss.find('"')
    definition = (gloss[:quote] if quote >= 0 else gloss).strip().rstrip(";").strip()
    examples = [e.strip() for e in EXAMPLE.findall(gloss[quote:] if quote >= 0 else "")]
    return {"id": f"{ss_type}:{offset}", "words": words, "definition": definition, "examples": examples,
            "pos": ss_type}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--out", default="bench/data/eval/wordnet")
    ap.add_argument("--records", type=int, default=6000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    synsets = []
    for name in FILES:
        with open(os.path.join(args.wordnet, name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or not line.strip():
                    continue  # licence header
                r = parse_line(line.rstrip("\n"))
                if r["definition"]:
                    synsets.append(r)
    by_word = {}
    by_example = {}
    for r in synsets:
        for w in r["words"]:
            by_word.setdefault(w.lower(), []).append(r)
        for e in r["examples"]:
            by_example.setdefault(e, []).append(r["id"])

    rng = random.Random(args.seed)
    candidates = [r for r in synsets if r["examples"] and len(r["examples"][0].split()) >= 4]
    rng.shuffle(candidates)
    kept, kept_ids, targets = [], set(), []

    def keep(r):
        if r["id"] not in kept_ids:
            kept_ids.add(r["id"])
            kept.append(r)

    budget = args.records * 2 // 3  # leave a third of the corpus to unrelated synsets
    for r in candidates:
        if len(targets) == args.queries:
            break
        senses = {s["id"]: s for w in r["words"] for s in by_word[w.lower()]}
        if len(kept) + len(senses) > budget:
            continue
        targets.append(r)
        for s in senses.values():
            keep(s)
    others = [r for r in synsets if r["id"] not in kept_ids]
    rng.shuffle(others)
    for r in others[: max(0, args.records - len(kept))]:
        keep(r)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in kept:
            f.write(json.dumps({"id": r["id"], "text": ", ".join(r["words"]) + ": " + r["definition"],
                                "pos": r["pos"]}, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as fq, \
            open(os.path.join(args.out, "qrels.tsv"), "w", encoding="utf-8") as fr:
        for i, r in enumerate(targets):
            example = r["examples"][0]
            fq.write(f"w{i:03d}\t{example}\n")
            for doc in by_example[example]:
                if doc in kept_ids:
                    fr.write(f"w{i:03d} 0 {doc} 1\n")
    print(f"synsets: {len(synsets)}; kept {len(kept)}; queries {len(targets)} -> {args.out}")


if __name__ == "__main__":
    main()
