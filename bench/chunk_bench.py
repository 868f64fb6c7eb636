#!/usr/bin/env python3
"""Chunk-size benchmark (issue 4, item 3): retrieval quality vs index size for the chunking defaults.

    # once: queries + ground truth (Debian python3.11-doc, manpages-dev, libc6-dev; run it with a python3.11,
    # whose docstrings become the prose queries: measured with 3.11.7, the docs are 3.11.2's)
    python3 bench/chunk_bench.py prepare
    # every config (resumable: configs already in the results file are skipped unless --force)
    LEANN_HOME=/tmp/chunkbench/home python3 bench/chunk_bench.py run --leann /tmp/leann-bench/leann \\
        --corpus prose --configs 256/32 128/32 192/32 256/0 256/64 64/0
    LEANN_HOME=/tmp/chunkbench/home python3 bench/chunk_bench.py run --leann /tmp/leann-bench/leann \\
        --corpus code --configs 256/32 128/32 192/32 256/0
    python3 bench/chunk_bench.py rescore        # metrics again from the saved search output (after edits)
    python3 bench/chunk_bench.py table          # markdown table of bench/results/chunking.json
    # search modes (issue 11) on both sets at the default chunking: one index per corpus, vector / keyword /
    # hybrid (and --fusions/--weights variants), written as `leann eval --json` objects for summarize_eval.py
    LEANN_HOME=... python3 bench/chunk_bench.py modes --leann build/bin/leann --corpus prose

Options: --work DIR (scratch: queries, indexes' JSON output; default /tmp/chunkbench), --results FILE
(default bench/results/chunking.json), --threads N (default 2), --top-k (default 10), --force.
LEANN_HOME must hold models/all-MiniLM-L6-v2; the indexes are built there as chunkbench-<corpus>-<size>-<ovl>
and removed after each config is measured (--keep to keep them). Python stdlib only.

The ground truth never depends on the chunking, and no query is copied from the indexed text:

prose  The pages PROSE_PAGES of the Python 3.11 HTML library docs (/usr/share/doc/python3.11/html/library,
       Debian python3.11-doc), indexed as HTML (leann reduces them to visible text; hits carry source lines).
       Queries: for every documented function/class/method/property (a `<dt class="sig sig-object py"
       id="NAME">`), the first sentence of the live docstring of NAME in this python3 (written apart from
       the HTML docs; signature lines dropped). Skipped: objects that do not resolve, data attributes, empty
       docstrings, sentences of < 4 words, and sentences that occur verbatim (case, punctuation and spacing
       normalised) in the page's text. Relevant region: the `<dt>` line(s) to the end of its `<dd>`
       description, cut before the first nested entry (a class's methods are their own entries). Identical
       sentences for several entries are one query with all their regions relevant.
code   The glibc headers CODE_HEADERS (/usr/include/NAME.h) plus /usr/include/x86_64-linux-gnu/sys/*.h,
       indexed as code. Queries: the NAME-line description ("strlen \\- calculate the length of a string"
       -> "calculate the length of a string") of every man page in sections 2 and 3 (manpages-dev) that
       lists a function declared in those headers; a declaration line is a line matching `\\bNAME *\\(` that
       does not start with #, /*, * or // (preprocessor and comment lines). Skipped: .so alias pages,
       descriptions occurring verbatim (normalised) in a header that declares the function. Relevant: a
       hit whose source declares one of the page's functions and whose [start_line, end_line] covers a
       declaration line.
Both query sets are a seeded sample of at most --max-queries (300).

A hit is relevant when metadata.source is the relevant file and [start_line, end_line] overlaps a relevant
region. Metrics per config: hit@1, hit@5, hit@10 (share of queries with a relevant hit in the top k),
MRR@10, search stats per query (mean "recomputed", mean "cache_hits": leann caches embeddings across the
queries of one --queries run, so recomputed is mostly cache misses; recomputed + cache_hits is the re-rank
set, 64 by default; the first query's seconds is the cold cost), search seconds (whole --queries run),
chunks, index file bytes, bytes/chunk, build seconds (wall clock of `leann build`, model load included),
mean source lines spanned by the top-1 hit (what a reader gets to look through). leann's raw_text_bytes
counts overlapping text twice, so the table divides the index bytes by the raw_text_bytes of the corpus's
no-overlap run. `table` also pairs every config against 256/32 on the same queries (bootstrap interval of the MRR@10
difference; queries won/lost at hit@1 and hit@5).
Search options are leann's defaults but the mode: vector (the chunking results were measured when it was the
default); only --top-k 10, --threads and --mode vector are given.
"""
import argparse
import gzip
import html
import html.parser
import importlib
import inspect
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import types

PYDOC = "/usr/share/doc/python3.11/html/library"
PROSE_PAGES = ["os.path", "json", "csv", "re", "string", "functools", "itertools", "collections",
               "datetime", "pathlib", "shutil", "glob", "textwrap", "random", "statistics", "math",
               "operator", "heapq", "bisect", "fnmatch", "tempfile", "time", "hashlib", "base64",
               "struct", "calendar", "fractions", "copy", "unicodedata"]
INC = "/usr/include"
CODE_HEADERS = ["aio", "argp", "argz", "assert", "byteswap", "complex", "cpio", "ctype", "dirent", "dlfcn",
                "endian", "envz", "err", "errno", "error", "execinfo", "fcntl", "fenv", "fmtmsg", "fnmatch",
                "fstab", "fts", "ftw", "getopt", "glob", "grp", "gshadow", "iconv", "ifaddrs", "inttypes",
                "langinfo", "libgen", "libintl", "link", "locale", "malloc", "math", "mcheck", "memory",
                "mntent", "monetary", "mqueue", "netdb", "nl_types", "obstack", "poll", "printf", "pthread",
                "pty", "pwd", "regex", "resolv", "sched", "search", "semaphore", "setjmp", "shadow",
                "signal", "spawn", "stdio", "stdio_ext", "stdlib", "string", "strings", "syslog",
                "termios", "threads", "time", "ttyent", "uchar", "ucontext", "ulimit", "unistd", "utime",
                "utmp", "utmpx", "wchar", "wctype", "wordexp"]
SYS_DIR = "/usr/include/x86_64-linux-gnu/sys"
MAN_DIRS = ["/usr/share/man/man2", "/usr/share/man/man3"]


def norm(s):
    return " ".join(re.findall(r"[a-z0-9]+", s.lower()))


def visible_text(src):
    src = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", src)
    return html.unescape(re.sub(r"<[^>]+>", " ", src))


# ---------------------------------------------------------------- prose ground truth
class EntryParser(html.parser.HTMLParser):
    """Line extents of Sphinx object entries: <dt class="sig sig-object py" id=...> ... </dd>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.dl_depth = 0
        self.entries = []        # dicts: id, depth, start, end
        self.open = []           # entries waiting for their </dd>

    def handle_starttag(self, tag, attrs):
        if tag == "dl":
            self.dl_depth += 1
        elif tag == "dt":
            a = dict(attrs)
            if a.get("id") and "sig-object" in (a.get("class") or ""):
                e = {"id": a["id"], "depth": self.dl_depth, "start": self.getpos()[0], "end": None}
                self.entries.append(e)
                self.open.append(e)

    def handle_endtag(self, tag):
        if tag == "dl":
            self.dl_depth -= 1
        elif tag == "dd":
            line = self.getpos()[0]
            for e in [e for e in self.open if e["depth"] == self.dl_depth]:
                e["end"] = line
                self.open.remove(e)


def resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            continue
        try:
            for p in parts[i:]:
                obj = inspect.getattr_static(obj, p)
        except AttributeError:
            return None
        return obj
    return None


SIG_LINE = re.compile(r"^\s*[\w.]+\(.*\)\s*(->.*)?$")


def first_sentence(doc):
    lines = doc.strip().splitlines()
    while lines and (SIG_LINE.match(lines[0]) or not lines[0].strip()):
        lines.pop(0)
    para = []
    for ln in lines:
        if not ln.strip():
            break
        para.append(ln.strip())
    text = " ".join(para)
    m = re.search(r"(?<=[.!?])\s", text)
    return (text[:m.start()] if m else text).strip()


def prose_queries():
    cands = {}   # query text -> list of [source, start, end]
    skipped = {"unresolved": 0, "not_doc_object": 0, "empty_or_short": 0, "verbatim_in_page": 0}
    for page in PROSE_PAGES:
        path = os.path.join(PYDOC, page + ".html")
        src = open(path, encoding="utf-8").read()
        page_norm = norm(visible_text(src))
        p = EntryParser()
        p.feed(src)
        p.close()
        entries = p.entries
        for e in entries:
            if e["end"] is None:
                e["end"] = e["start"]
            nested = [f["start"] for f in entries if f["depth"] > e["depth"] and e["start"] < f["start"] <= e["end"]]
            if nested:
                e["end"] = min(nested) - 1
        for e in entries:
            obj = resolve(e["id"])
            if obj is None:
                skipped["unresolved"] += 1
                continue
            if isinstance(obj, (staticmethod, classmethod)):
                obj = obj.__func__
            ok = (inspect.isroutine(obj) or inspect.isclass(obj) or isinstance(obj, property)
                  or isinstance(obj, (types.GetSetDescriptorType, types.MemberDescriptorType)))
            if not ok:
                skipped["not_doc_object"] += 1
                continue
            doc = getattr(obj, "__doc__", None)
            if not isinstance(doc, str) or not doc.strip():
                skipped["empty_or_short"] += 1
                continue
            q = first_sentence(doc)
            if len(q.split()) < 4 or "\t" in q:
                skipped["empty_or_short"] += 1
                continue
            if norm(q) in page_norm:
                skipped["verbatim_in_page"] += 1
                continue
            cands.setdefault(q, []).append([path, e["start"], e["end"]])
    return cands, skipped


# ---------------------------------------------------------------- code ground truth
def code_files():
    files = [os.path.join(INC, h + ".h") for h in CODE_HEADERS]
    files += sorted(os.path.join(SYS_DIR, f) for f in os.listdir(SYS_DIR) if f.endswith(".h"))
    return [f for f in files if os.path.isfile(f)]


def man_name_line(path):
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        src = f.read()
    if re.match(r"\s*\.so\s", src):
        return None
    m = re.search(r"^\.SH\s+\"?NAME\"?\s*\n(.*?)(?=^\.SH)", src, re.M | re.S)
    if not m:
        return None
    body = " ".join(l for l in m.group(1).splitlines() if not l.startswith(".")).strip()
    if "\\-" not in body:
        return None
    names, desc = body.split("\\-", 1)
    names = [n.strip().replace("\\", "") for n in names.split(",") if n.strip()]
    desc = re.sub(r"\\f[BIRP]|\\\(..|\\\[[a-z]+\]|\\&|\\", "", desc)
    return names, " ".join(desc.split())


def code_queries():
    headers = {}
    for f in code_files():
        lines = open(f, encoding="utf-8", errors="replace").read().splitlines()
        headers[f] = lines
    skipped = {"so_alias_or_no_name": 0, "not_declared": 0, "verbatim_in_header": 0, "short": 0}
    cands = {}
    for d in MAN_DIRS:
        for fn in sorted(os.listdir(d)):
            p = os.path.join(d, fn)
            if os.path.islink(p) or not fn.endswith(".gz"):
                skipped["so_alias_or_no_name"] += 1
                continue
            r = man_name_line(p)
            if r is None:
                skipped["so_alias_or_no_name"] += 1
                continue
            names, desc = r
            regions = []
            for hf, lines in headers.items():
                pats = [re.compile(r"\b" + re.escape(n) + r" *\(") for n in names if re.fullmatch(r"\w+", n)]
                if not pats:
                    continue
                hit = []
                for i, ln in enumerate(lines, 1):
                    s = ln.lstrip()
                    if s.startswith(("#", "/*", "*", "//")):
                        continue
                    if any(pt.search(ln) for pt in pats):
                        hit.append(i)
                if hit:
                    if norm(desc) in norm("\n".join(lines)):
                        regions = None
                        break
                    regions += [[hf, i, i] for i in hit]
            if regions is None:
                skipped["verbatim_in_header"] += 1
                continue
            if not regions:
                skipped["not_declared"] += 1
                continue
            if len(desc.split()) < 2:
                skipped["short"] += 1
                continue
            cands.setdefault(desc, []).extend(regions)
    return cands, skipped


def write_queries(work, corpus, cands, skipped, max_q, seed):
    keys = sorted(cands)
    random.Random(seed).shuffle(keys)
    keys = keys[:max_q]
    qs = [{"qid": f"{corpus}{i:03d}", "query": k, "relevant": cands[k]} for i, k in enumerate(keys)]
    with open(os.path.join(work, f"{corpus}_queries.tsv"), "w") as f:
        for q in qs:
            f.write(f"{q['qid']}\t{q['query']}\n")
    with open(os.path.join(work, f"{corpus}_truth.json"), "w") as f:
        json.dump({"candidates": len(cands), "skipped": skipped, "queries": qs}, f, indent=1)
    print(f"{corpus}: {len(cands)} candidate queries, {len(qs)} kept; skipped {skipped}")


def corpus_paths(corpus):
    if corpus == "prose":
        return [os.path.join(PYDOC, p + ".html") for p in PROSE_PAGES]
    return code_files()


# ---------------------------------------------------------------- run
def score(truth, out_lines, k_list=(1, 5, 10)):
    by_id = {q["qid"]: q for q in truth["queries"]}
    hits = {k: 0 for k in k_list}
    rr = 0.0
    recomputed, cache_hits, qsec, top1_lines = [], [], [], []
    per_query = {}
    n = 0
    for line in out_lines:
        d = json.loads(line)
        q = by_id[d["query_id"]]
        n += 1
        rank = None
        for r, res in enumerate(d["results"][:10], 1):
            m = res["metadata"]
            s, a, b = m["source"], int(m["start_line"]), int(m["end_line"])
            if any(src == s and a <= hi and lo <= b for src, lo, hi in q["relevant"]):
                rank = r
                break
        per_query[q["qid"]] = rank
        if d["results"]:
            m = d["results"][0]["metadata"]
            top1_lines.append(int(m["end_line"]) - int(m["start_line"]) + 1)
        for k in k_list:
            hits[k] += rank is not None and rank <= k
        rr += 1.0 / rank if rank else 0.0
        st = d.get("stats", {})
        recomputed.append(st.get("recomputed", 0))
        cache_hits.append(st.get("cache_hits", 0))
        qsec.append(st.get("seconds", 0.0))
    res = {f"hit@{k}": hits[k] / n for k in k_list}
    res["mrr@10"] = rr / n
    res["queries"] = n
    res["top1_lines_mean"] = sum(top1_lines) / max(1, len(top1_lines))   # source lines a reader gets per hit
    res["recomputed_mean"] = sum(recomputed) / n          # embeddings computed (the run's cache saves the rest)
    res["cache_hits_mean"] = sum(cache_hits) / n
    res["reranked_mean"] = (sum(recomputed) + sum(cache_hits)) / n   # recomputed + cached = re-rank set
    res["first_query_seconds"] = qsec[0] if qsec else None      # cold: nothing cached yet
    res["query_seconds_median"] = sorted(qsec)[n // 2]
    return res, per_query


def run_config(a, corpus, size, ovl, truth):
    leann, env = a.leann, dict(os.environ)
    name = f"chunkbench-{corpus}-{size}-{ovl}"
    if corpus == "prose":
        copts = ["--chunk-size", str(size), "--chunk-overlap", str(ovl)]
    else:
        copts = ["--code-chunk-size", str(size), "--code-chunk-overlap", str(ovl)]
    cmd = [leann, "build", name, "--docs", *corpus_paths(corpus), *copts, "--threads", str(a.threads)]
    t = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    build_s = time.time() - t
    if p.returncode:
        sys.exit(f"build failed: {p.stderr}")
    st = json.loads(subprocess.run([leann, "stats", name, "--json"], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    qfile = os.path.join(a.work, f"{corpus}_queries.tsv")
    t = time.time()
    p = subprocess.run([leann, "search", name, "--queries", qfile, "--json", "--top-k", str(a.top_k),
                        "--threads", str(a.threads), "--mode", "vector"], env=env, capture_output=True, text=True)
    search_s = time.time() - t
    if p.returncode:
        sys.exit(f"search failed: {p.stderr}")
    out = p.stdout.splitlines()
    with open(os.path.join(a.work, f"{name}.search.jsonl"), "w") as f:
        f.write(p.stdout)
    m, per_query = score(truth, out)
    passages = next((s["bytes"] for s in st["sections"] if s["tag"] == "PSGD"), None)
    r = {"corpus": corpus, "chunk_size": size, "chunk_overlap": ovl, "chunks": st["chunks"],
         "file_bytes": st["file_bytes"], "raw_text_bytes": st["raw_text_bytes"],
         "bytes_per_raw_text": st["file_bytes"] / st["raw_text_bytes"],
         "bytes_per_chunk": st["file_bytes"] / st["chunks"], "passage_bytes": passages,
         "sections": {x["tag"]: x["bytes"] for x in st["sections"]},
         "build_seconds": round(build_s, 1), "search_seconds": round(search_s, 1),
         "search_seconds_per_query": round(search_s / len(out), 3), **m,
         "build_log": p.stderr.strip().splitlines()[-1:] if False else None,
         "per_query_rank": per_query}
    if not a.keep:
        subprocess.run([leann, "remove", name, "--yes"], env=env, capture_output=True)
    return r


def cmd_rescore(a):
    """Recompute the metrics of every run from its saved search output (<work>/<index name>.search.jsonl)."""
    res = load(a.results)
    for r in res["runs"]:
        name = f"chunkbench-{r['corpus']}-{r['chunk_size']}-{r['chunk_overlap']}"
        truth = json.load(open(os.path.join(a.work, f"{r['corpus']}_truth.json")))
        m, per_query = score(truth, open(os.path.join(a.work, f"{name}.search.jsonl")).read().splitlines())
        r.update(m)
        r["per_query_rank"] = per_query
    with open(a.results, "w") as f:
        json.dump(res, f, indent=1)


def load(path):
    if os.path.exists(path):
        return json.load(open(path))
    return {"runs": []}


def cmd_run(a):
    res = load(a.results)
    truth = json.load(open(os.path.join(a.work, f"{a.corpus}_truth.json")))
    res.setdefault("queries", {})[a.corpus] = {"count": len(truth["queries"]),
                                                 "candidates": truth["candidates"], "skipped": truth["skipped"]}
    res["corpora"] = {"prose": corpus_paths("prose"), "code": corpus_paths("code")}
    for c in a.configs:
        size, ovl = map(int, c.split("/"))
        done = [r for r in res["runs"] if (r["corpus"], r["chunk_size"], r["chunk_overlap"]) == (a.corpus, size, ovl)]
        if done and not a.force:
            print(f"skip {a.corpus} {c} (done)")
            continue
        r = run_config(a, a.corpus, size, ovl, truth)
        r.pop("build_log")
        r["measured"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        res["runs"] = [x for x in res["runs"] if x not in done] + [r]
        os.makedirs(os.path.dirname(a.results), exist_ok=True)
        with open(a.results, "w") as f:
            json.dump(res, f, indent=1)
        print(f"{a.corpus} {size}/{ovl}: chunks {r['chunks']} bytes {r['file_bytes']} build {r['build_seconds']}s "
              f"search {r['search_seconds']}s hit@1 {r['hit@1']:.3f} hit@5 {r['hit@5']:.3f} "
              f"mrr {r['mrr@10']:.3f} recomputed {r['recomputed_mean']:.1f}", flush=True)


PQCB = 393216   # PQ codebooks (fixed: 32 x 256 x 12 floats for 384-d), not growing with the chunk count


def cmd_table(a):
    res = load(a.results)
    # leann's raw_text_bytes counts overlapping text twice; the fixed denominator is the text of the no-overlap run
    base = {}
    for r in res["runs"]:
        if r["chunk_overlap"] == 0:
            base[r["corpus"]] = min(base.get(r["corpus"], 1 << 62), r["raw_text_bytes"])
    print("| corpus | size/overlap | chunks | index bytes | bytes / text | excl. PQ codebooks | build s | hit@1 | hit@5 | hit@10 "
          "| MRR@10 | lines/top-1 hit | recomputed (+cached)/query | first query s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(res["runs"], key=lambda r: (r["corpus"] != "prose", -r["chunk_size"], r["chunk_overlap"])):
        text = base.get(r["corpus"], r["raw_text_bytes"])
        print(f"| {r['corpus']} | {r['chunk_size']}/{r['chunk_overlap']} | {r['chunks']:,} | {r['file_bytes']:,} "
              f"| {r['file_bytes'] / text:.2f} | {(r['file_bytes'] - PQCB) / text:.2f} "
              f"| {r['build_seconds']:.0f} | {r['hit@1']:.3f} | {r['hit@5']:.3f} "
              f"| {r['hit@10']:.3f} | {r['mrr@10']:.3f} | {r.get('top1_lines_mean', 0):.1f} "
              f"| {r['recomputed_mean']:.1f} (+{r.get('cache_hits_mean', 0):.1f}) "
              f"| {r.get('first_query_seconds') or 0:.2f} |")
    print("\nPaired against 256/32 on the same queries: MRR@10 difference with a 95% bootstrap interval "
          "(2,000 resamples of the queries, seed 1); hit@1 queries won/lost (found at rank 1 by one config only).\n")
    print("| corpus | size/overlap | ΔMRR@10 [95% CI] | hit@1 won/lost | hit@5 won/lost |")
    print("|---|---|---|---|---|")
    for corpus in ("prose", "code"):
        ref = next((r for r in res["runs"] if (r["corpus"], r["chunk_size"], r["chunk_overlap"]) == (corpus, 256, 32)), None)
        if ref is None:
            continue
        for r in sorted(res["runs"], key=lambda r: (-r["chunk_size"], r["chunk_overlap"])):
            if r["corpus"] != corpus or r is ref:
                continue
            qids = sorted(ref["per_query_rank"])
            rr = lambda run, q: 1.0 / run["per_query_rank"][q] if run["per_query_rank"].get(q) else 0.0
            diff = [rr(r, q) - rr(ref, q) for q in qids]
            rng = random.Random(1)
            boots = sorted(sum(rng.choice(diff) for _ in diff) / len(diff) for _ in range(2000))
            at = lambda run, q, k: (run["per_query_rank"].get(q) or 99) <= k
            wl = lambda k: (sum(at(r, q, k) and not at(ref, q, k) for q in qids),
                            sum(at(ref, q, k) and not at(r, q, k) for q in qids))
            print(f"| {corpus} | {r['chunk_size']}/{r['chunk_overlap']} | {sum(diff) / len(diff):+.3f} "
                  f"[{boots[50]:+.3f}, {boots[1949]:+.3f}] | {wl(1)[0]}/{wl(1)[1]} | {wl(5)[0]}/{wl(5)[1]} |")
    print("\nbytes / text: index file bytes per byte of the corpus's extracted text (raw_text_bytes of the "
          "no-overlap run: " + ", ".join(f"{c} {b:,}" for c, b in base.items()) + "); excl. PQ codebooks: less the "
          f"{PQCB:,} bytes of PQ codebooks that every index has whatever its size.")
    for c, q in res.get("queries", {}).items():
        print(f"\n{c}: {q['count']} queries ({q['candidates']} candidates); skipped {q['skipped']}")


def cmd_modes(a):
    """Default chunking, one index per corpus; each search mode (and hybrid variant) over the queries, scored as
    nDCG@10 with the query's relevant regions as one document: 1 / log2(1 + rank of the first relevant hit).
    Output: bench/results/eval/pydoc-prose.jsonl / glibc-code.jsonl, one `leann eval --json`-shaped object per
    run; runs already there are kept and skipped (--force: all again)."""
    leann, env = a.leann, dict(os.environ)
    truth = json.load(open(os.path.join(a.work, f"{a.corpus}_truth.json")))
    name = f"chunkbench-{a.corpus}-default"
    if not a.keep or subprocess.run([leann, "stats", name, "--json"], env=env, capture_output=True).returncode:
        t = time.time()
        p = subprocess.run([leann, "build", name, "--docs", *corpus_paths(a.corpus), "--threads", str(a.threads),
                            "--force"], env=env, capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"build failed: {p.stderr}")
        print(f"{a.corpus}: built in {time.time() - t:.0f} s", flush=True)
    qfile = os.path.join(a.work, f"{a.corpus}_queries.tsv")
    runs = [("vector", []), ("keyword", [])]
    for fusion in a.fusions:
        for w in a.weights:
            runs.append(("hybrid", ["--fusion", fusion, "--vector-weight", str(w)]))
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "eval",
                            f"{'pydoc' if a.corpus == 'prose' else 'glibc'}-{a.corpus}.jsonl")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    # Runs already in the file are kept and not repeated (--force repeats them).
    kept, done = [], set()
    if os.path.exists(out_path) and not a.force:
        for line in open(out_path):
            obj = json.loads(line)
            kept.append(line)
            done.add((obj["mode"], obj.get("fusion"), obj.get("vector_weight")))
    with open(out_path, "w") as out:
        out.writelines(kept)
        for mode, extra in runs:
            if (mode, extra[1] if extra else None, float(extra[3]) if extra else None) in done:
                continue
            t = time.time()
            p = subprocess.run([leann, "search", name, "--queries", qfile, "--json", "--top-k", str(a.top_k),
                                "--threads", str(a.threads), "--mode", mode, *extra], env=env, capture_output=True,
                               text=True)
            if p.returncode:
                sys.exit(f"search failed: {p.stderr}")
            m, ranks = score(truth, p.stdout.splitlines())
            per_query = [{"query_id": q, "ndcg@10": (1.0 / math.log2(1 + r)) if r else 0.0,
                          "mrr@10": (1.0 / r) if r else 0.0} for q, r in sorted(ranks.items())]
            obj = {"mode": mode, "index": name, "ndcg@10": sum(x["ndcg@10"] for x in per_query) / len(per_query),
                   "mrr@10": m["mrr@10"], "hit@10": m["hit@10"], "queries": len(per_query),
                   "seconds": round(time.time() - t, 1), "per_query": per_query}
            if mode == "hybrid":
                obj.update({"fusion": extra[1], "vector_weight": float(extra[3])})
            out.write(json.dumps(obj) + "\n")
            out.flush()
            print(f"{a.corpus} {mode} {' '.join(extra)}: nDCG@10 {obj['ndcg@10']:.4f} MRR@10 {m['mrr@10']:.4f} "
                  f"({obj['seconds']} s)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["prepare", "run", "rescore", "table", "modes"])
    ap.add_argument("--fusions", nargs="+", default=["rrf"], help="modes: hybrid fusions to run")
    ap.add_argument("--weights", nargs="+", type=float, default=[0.5], help="modes: hybrid vector weights to run")
    ap.add_argument("--work", default="/tmp/chunkbench")
    ap.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results", "chunking.json"))
    ap.add_argument("--leann", default="build/bin/leann")
    ap.add_argument("--corpus", choices=["prose", "code"])
    ap.add_argument("--configs", nargs="+", default=["256/32"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--max-queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if a.cmd == "prepare":
        write_queries(a.work, "prose", *prose_queries(), a.max_queries, a.seed)
        write_queries(a.work, "code", *code_queries(), a.max_queries, a.seed)
    elif a.cmd == "run":
        cmd_run(a)
    elif a.cmd == "rescore":
        cmd_rescore(a)
    elif a.cmd == "modes":
        cmd_modes(a)
    else:
        cmd_table(a)


if __name__ == "__main__":
    main()
