#!/usr/bin/env python3
"""Build the Python-standard-library code-search set for `leann eval`: functions as records, two kinds of queries.

    python3 bench/make_pycode_eval.py [--lib /usr/lib/python3.11] [--out bench/data/eval/pycode]
                                      [--records 6000] [--queries 300] [--seed 42]

Source: the Python 3.11 standard library sources of Debian's python3.11 packages (/usr/lib/python3.11), written
by the CPython developers, not by this project. Test suites (test/, tests/, idle_test/), idlelib, lib2to3's
fixers, site-/dist-packages and __pycache__ are skipped.

Every function and method (def / async def, at any depth) becomes one record. Its text is its source code as
written (decorators and signature included) with the docstring taken out, so that a docstring query cannot be
matched by copying; text is cut at 4,000 characters (the encoder reads the first 256 tokens anyway).
--records functions are kept: all query targets plus a seeded sample of the others (distractors).

Query sets (the ground truth is the source itself: which function a docstring or a name belongs to):
  docstring   the first sentence of a function's docstring, as its author wrote it (the CodeSearchNet task);
              relevant: every kept function whose docstring has that same first sentence (grade 1).
  identifier  the qualified name a programmer would type, "Class.method" or "function" (for module-level
              functions "module.function"); relevant: every kept function with that qualified name
              (grade 1), e.g. the same method in two modules.
Query targets are drawn (seeded) among functions whose first docstring sentence has 4 to 40 words.

Writes (generated, not committed):
  <out>/corpus.jsonl                 {"id": "<module>:<qualname>", "text": code, "path", "line", "module",
                                      "type": "code"} (code: the keyword index does not stem it, as for .py files)
  <out>/docstring/queries.tsv        qid<TAB>text      <out>/docstring/qrels.tsv   BEIR TSV (with header)
  <out>/identifier/queries.tsv       qid<TAB>text      <out>/identifier/qrels.tsv  BEIR TSV (with header)
"""
import argparse
import ast
import json
import os
import random
import re

SKIP_DIRS = {"test", "tests", "idle_test", "idlelib", "fixes", "site-packages", "dist-packages", "__pycache__",
             "ensurepip", "turtledemo"}
MAX_TEXT = 4000


def first_sentence(doc):
    para = doc.strip().split("\n\n")[0]
    para = " ".join(para.split())
    # A sentence ends at . ! ? followed by a space or the end, but not in "e.g." or "i.e.".
    m = re.match(r"(.+?(?<!e\.g)(?<!i\.e)[.!?])(\s|$)", para)
    return (m.group(1) if m else para).strip()


def functions(tree):
    """(qualname, node) of every function at any depth; qualname as Python spells it (without <locals>)."""
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = prefix + child.name
                out.append((q, child))
                walk(child, q + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def code_without_docstring(lines, node):
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    end = node.end_lineno
    drop = set()
    body0 = node.body[0] if node.body else None
    if (isinstance(body0, ast.Expr) and isinstance(body0.value, ast.Constant)
            and isinstance(body0.value.value, str)):
        drop = set(range(body0.lineno - 1, body0.end_lineno))
    kept = [lines[i] for i in range(start, end) if i not in drop]
    return "\n".join(kept)[:MAX_TEXT]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="/usr/lib/python3.11")
    ap.add_argument("--out", default="bench/data/eval/pycode")
    ap.add_argument("--records", type=int, default=6000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    records = []  # dicts with id, text, path, line, module, qualname, summary
    for root, dirs, files in os.walk(args.lib):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, args.lib)
            module = rel[:-3].replace(os.sep, ".")
            if module.endswith(".__init__"):
                module = module[: -len(".__init__")]
            try:
                with open(path, encoding="utf-8") as f:
                    source = f.read()
                tree = ast.parse(source)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            lines = source.split("\n")
            for qualname, node in functions(tree):
                text = code_without_docstring(lines, node)
                if not text.strip():
                    continue
                doc = ast.get_docstring(node)
                records.append({"id": f"{module}:{qualname}", "text": text, "path": rel, "line": node.lineno,
                                "module": module, "qualname": qualname,
                                "summary": first_sentence(doc) if doc else ""})
    # One record per id (a function defined twice under one name, e.g. in if/else branches: the first).
    seen, unique = set(), []
    for r in records:
        if r["id"] not in seen:
            seen.add(r["id"])
            unique.append(r)
    records = unique

    rng = random.Random(args.seed)
    candidates = [r for r in records if 4 <= len(r["summary"].split()) <= 40 and "<locals>" not in r["qualname"]]
    targets = rng.sample(candidates, min(args.queries, len(candidates)))
    target_ids = {r["id"] for r in targets}
    others = [r for r in records if r["id"] not in target_ids]
    rng.shuffle(others)
    kept = targets + others[: max(0, args.records - len(targets))]
    kept.sort(key=lambda r: (r["path"], r["line"]))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in kept:
            f.write(json.dumps({"id": r["id"], "text": r["text"], "path": r["path"], "line": r["line"],
                                "module": r["module"], "type": "code"}, ensure_ascii=False) + "\n")

    def typed_name(r):
        return r["qualname"] if "." in r["qualname"] else r["module"] + "." + r["qualname"]

    def write_set(kind, query_of):
        d = os.path.join(args.out, kind)
        os.makedirs(d, exist_ok=True)
        by_text = {}
        for r in kept:
            by_text.setdefault(query_of(r), []).append(r["id"])
        with open(os.path.join(d, "queries.tsv"), "w", encoding="utf-8") as fq, \
                open(os.path.join(d, "qrels.tsv"), "w", encoding="utf-8") as fr:
            fr.write("query-id\tcorpus-id\tscore\n")
            done = set()
            for i, r in enumerate(targets):
                text = query_of(r)
                if text in done:
                    continue
                done.add(text)
                qid = f"{kind[0]}{i:04d}"
                fq.write(f"{qid}\t{text}\n")
                for doc in by_text[text]:
                    fr.write(f"{qid}\t{doc}\t1\n")
        print(f"{kind}: {len(done)} queries")

    write_set("docstring", lambda r: r["summary"])
    write_set("identifier", typed_name)
    print(f"functions: {len(records)}; kept {len(kept)} (targets {len(targets)}) -> {args.out}")


if __name__ == "__main__":
    main()
