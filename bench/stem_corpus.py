#!/usr/bin/env python3
"""Stemming experiment (issue 11): a copy of an eval set with corpus and queries stemmed (Snowball English), so
that keyword search over it measures what stemming would do, before the keyword index stemmed anything.

    python3 -m venv /tmp/stemvenv && /tmp/stemvenv/bin/pip install snowballstemmer   # bench only, not set-up
    /tmp/stemvenv/bin/python bench/stem_corpus.py bench/data/eval/wordnet /tmp/stem/wordnet
    cp bench/data/eval/wordnet/qrels.tsv /tmp/stem/wordnet/       # (pycode: docstring/ and identifier/ qrels)
    build/bin/leann build --index /tmp/stem/wordnet/index.leann --docs /tmp/stem/wordnet/corpus.jsonl
    build/bin/leann eval --index /tmp/stem/wordnet/index.leann --queries /tmp/stem/wordnet/queries.tsv \\
        --qrels /tmp/stem/wordnet/qrels.tsv --mode keyword --json

Plain words (a capitalised or lower-case run of ASCII letters not joined to other word characters or '-') are
replaced by their stem; identifiers and everything else are left as they are. Note: an index built by a leann that
stems prose itself would stem twice; measure with `"type": "code"` records or an older leann.
"""
import json, re, sys, snowballstemmer
st = snowballstemmer.stemmer('english')
W = re.compile(r"(?<![\w-])([A-Za-z][a-z]+)(?![\w-])")
cache = {}
def stem_text(t):
    def f(m):
        w = m.group(1).lower()
        s = cache.get(w)
        if s is None: s = cache[w] = st.stemWord(w)
        return s
    return W.sub(f, t)
src, dst = sys.argv[1], sys.argv[2]
import os
os.makedirs(dst, exist_ok=True)
with open(os.path.join(dst, 'corpus.jsonl'), 'w') as out:
    for line in open(os.path.join(src, 'corpus.jsonl')):
        r = json.loads(line); r['text'] = stem_text(r['text']); out.write(json.dumps(r) + '\n')
for root, dirs, files in os.walk(src):
    for f in files:
        if f.startswith('queries'):
            rel = os.path.relpath(os.path.join(root, f), src); os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
            with open(os.path.join(dst, rel), 'w') as out:
                for line in open(os.path.join(root, f)):
                    qid, _, text = line.rstrip('\n').partition('\t'); out.write(qid + '\t' + stem_text(text) + '\n')
