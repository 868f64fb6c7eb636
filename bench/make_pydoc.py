#!/usr/bin/env python3
"""Build the Python-documentation benchmark set: ~256-token passages and heading queries.

    python3 bench/make_pydoc.py [--source LABEL=DIR ...] [--out bench/data/pydoc]
                                [--tokens 256] [--queries 300] [--seed 42]

Sources (Sphinx HTML trees; written by those projects' documentation authors, not by this project):
  python3.11  /usr/share/doc/python3.11/html        Debian `python3.11-doc` (Python 3.11.2 docs)
  pandas      /usr/share/doc/python-pandas-doc/html Debian `python-pandas-doc` (pandas 1.5.3: user guide
                                                    and API reference). Added because python3.11-doc
                                                    alone gives ~12.4K passages, fewer than 20K.
Only the visible text of each page's main body (the element with role="main") is kept: scripts,
styles, navigation bars, sidebars, footers, prev/next links, "[source]" links and the "¶" permalinks
are dropped. Pages without a main body (pandas' redirect stubs) and generated pages without prose
(top-level genindex*, py-modindex, search, contents, index, download; _static/, _sources/, _modules/)
are skipped.

Passages: block elements (paragraphs, list items, definitions, code blocks, table rows, headings) are
packed in page order into passages of at most --tokens model tokens for title + " " + text, what the
index embeds (256 = all-MiniLM-L6-v2's max length), aiming at 85% of that; tokens are estimated with
the stdlib (est_tokens: within ~10% of the real WordPiece count). A passage breaks at a block boundary;
a block longer than the limit is cut at sentence (code: line) ends. A new h1-h3 section starts a new
passage when the current one is at least half full. No overlap.

Writes (generated, not committed):
  <out>/passages.jsonl      every passage: {"id": "<label>/<relative path>#<n>", "title": page title,
                            "text": ..., "path": "<label>/<relative path>"}
  <out>/passages_20k.jsonl  the first 20,000 passages of a seeded shuffle of passages.jsonl
  <out>/passages_5k.jsonl   the first 5,000 lines of passages_20k.jsonl (so its vectors are the first
                            5,000 rows of the 20K embedding matrix)
  <out>/queries.tsv         qid<TAB>text: --queries section headings (h2/h3 text without section
                            numbers) of the same pages, de-duplicated case-insensitively, 3+ characters,
                            seeded sample
  <out>/queries_source.tsv  qid<TAB><label>/<relative path>#<section anchor> each query came from
"""
import argparse
import html.parser
import json
import os
import random
import re

DEFAULT_SOURCES = [
    "python3.11=/usr/share/doc/python3.11/html",            # Debian python3.11-doc
    "pandas=/usr/share/doc/python-pandas-doc/html",         # Debian python-pandas-doc (1.5.3)
]
SKIP_FILES = re.compile(r"^(genindex.*|py-modindex|search|contents|index|download)\.html$")
BLOCK = {"p", "pre", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "div", "section",
         "blockquote", "table", "ul", "ol", "dl", "caption", "figcaption", "figure", "aside", "br", "hr"}
VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"}
SKIP_TAGS = {"script", "style", "nav", "form", "button", "svg", "noscript", "template"}
SKIP_CLASSES = {"headerlink", "sphinxsidebar", "footer", "related", "mobile-nav", "menu-wrapper",
                "linenos", "copybutton", "inline-search", "prev-next-area", "bd-toc", "sr-only",
                "viewcode-link"}
SECTION_NUMBER = re.compile(r"^\s*(?:\d+\.)+\d*\s*|^\s*[A-Z]\.\d+(?:\.\d+)*\.?\s+")


class PageParser(html.parser.HTMLParser):
    """Collects the blocks (kind, text) of the main body, the page title and the h2/h3 headings."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.in_title = False
        self.root_tag = None  # tag of the page body (role="main"; Django's theme: div.yui-g), once seen
        self.root_depth = 0  # nesting of root_tag inside it
        self.done = False  # past the end of the main body
        self.skip = []  # stack of (tag, nesting) for skipped subtrees
        self.pre = 0
        self.section_number = 0  # >0 inside <span class="section-number">
        self.blocks = []  # (kind, text): kind is "h1".."h6", "pre" or "p"
        self.headings = []  # (level, text, anchor)
        self.buf = []
        self.kind = "p"
        self.heading_anchor = []
        self.section_ids = []

    def _flush(self):
        raw = "".join(self.buf)
        self.buf = []
        if self.kind == "pre":
            lines = [ln.rstrip() for ln in raw.split("\n")]
            while lines and not lines[0].strip():
                lines.pop(0)
            while lines and not lines[-1].strip():
                lines.pop()
            text = "\n".join(lines)
        else:
            text = " ".join(raw.split())
        if text.strip():
            self.blocks.append((self.kind, text))
        return text

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag == "title":
            self.in_title = True
            return
        if self.done:
            return
        if self.root_tag is None:
            if a.get("role") == "main" or (tag == "div" and "yui-g" in classes and a.get("id")):
                self.root_tag, self.root_depth = tag, 1
            return
        if tag == self.root_tag:
            self.root_depth += 1
        if self.skip:
            if tag == self.skip[-1][0] and tag not in VOID:
                self.skip[-1][1] += 1
            return
        if tag in ("section", "div") and a.get("id") and (tag == "section" or "section" in classes):
            self.section_ids.append(a["id"])
        if tag in SKIP_TAGS or classes & SKIP_CLASSES:
            if tag not in VOID:
                self.skip.append([tag, 1])
            return
        if tag == "span" and "classifier" in classes:
            self.buf.append(" : ")  # Sphinx shows "name : type" through CSS
        if tag == "span" and "section-number" in classes:
            self.section_number += 1
            return
        if tag in BLOCK:
            self._flush()
            if tag == "pre":
                self.pre += 1
                self.kind = "pre"
            elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                self.kind = tag
                self.heading_anchor.append(self.section_ids[-1] if self.section_ids else "")
            elif not self.pre:
                self.kind = "p"
        elif tag in ("td", "th"):
            self.buf.append(" ")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
            return
        if self.done or self.root_tag is None:
            return
        if tag == self.root_tag:
            self.root_depth -= 1
            if self.root_depth == 0:
                self._flush()
                self.done = True  # ignore the rest of the page
                return
        if self.skip:
            if tag == self.skip[-1][0]:
                self.skip[-1][1] -= 1
                if self.skip[-1][1] == 0:
                    self.skip.pop()
            return
        if tag == "span" and self.section_number:
            self.section_number -= 1
            return
        if tag in BLOCK:
            kind = self.kind
            text = self._flush()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            if kind in ("h2", "h3") and tag == kind and text:
                self.headings.append((kind, text, self.heading_anchor[-1] if self.heading_anchor else ""))
            self.kind = "pre" if self.pre else "p"

    def handle_data(self, data):
        if self.in_title:
            self.title += data
            return
        if self.skip or self.root_tag is None or self.done or self.section_number:
            return
        self.buf.append(data)


def clean_title(title):
    title = " ".join(title.split())
    title = re.sub(r"\s+\u2014\s+[^\u2014]*documentation$", "", title, flags=re.I)
    return SECTION_NUMBER.sub("", title).strip()


TOKEN_PIECE = re.compile(r"\w+|[^\w\s]")


def est_tokens(text):
    """Approximate BERT WordPiece count without the tokenizer: BERT's pre-tokenizer splits words from
    each punctuation character; a word longer than 6 characters counts as one piece per 6 characters.
    On these documents it is within about 10% of all-MiniLM-L6-v2's real count (median ratio 0.99)."""
    return sum(1 + (len(m) - 1) // 6 for m in TOKEN_PIECE.findall(text))


def pack(parts, sep, target, limit):
    """Greedily pack text parts (joined with sep) into pieces of about `target` estimated tokens."""
    pieces, cur, n = [], [], 0
    for part in parts:
        t = est_tokens(part)
        if cur and (n + t > limit or n >= target):
            pieces.append(sep.join(cur))
            cur, n = [], 0
        cur.append(part)
        n += t
    if cur:
        pieces.append(sep.join(cur))
    return [p for p in pieces if p.strip()]


def split_long(kind, text, target, limit):
    """Cut one over-long block into pieces of about `target` estimated tokens: code blocks at line
    ends, prose at sentence ends, and a line or sentence that is still too long at word boundaries."""
    if kind == "pre":
        parts, sep = text.split("\n"), "\n"
    else:
        parts, sep = re.split(r"(?<=[.!?:;])\s+", text), " "
    units = []
    for part in parts:
        if est_tokens(part) > limit:
            units.extend(pack(part.split(), " ", target, limit))
        else:
            units.append(part)
    return pack(units, sep, target, limit)


def chunk(blocks, title, max_tokens):
    """Pack a page's blocks into passages of at most about `max_tokens` model tokens for
    title + " " + text (what the index embeds), breaking at block boundaries."""
    limit = max_tokens - 2 - est_tokens(title)  # [CLS], [SEP] and the title come first
    target = int(limit * 0.85)
    units = []
    for kind, text in blocks:
        if est_tokens(text) > limit:
            units.extend((kind, piece) for piece in split_long(kind, text, target, limit))
        else:
            units.append((kind, text))
    passages, cur, n = [], [], 0
    for kind, text in units:
        t = est_tokens(text)
        new_section = kind in ("h1", "h2", "h3") and n >= target // 2
        if cur and (n + t > limit or n >= target or new_section):
            passages.append(("\n".join(cur), n))
            cur, n = [], 0
        cur.append(text)
        n += t
    if cur:
        # a short tail joins the previous passage when the two still fit
        if passages and n < target // 4 and passages[-1][1] + n <= limit:
            passages[-1] = (passages[-1][0] + "\n" + "\n".join(cur), passages[-1][1] + n)
        else:
            passages.append(("\n".join(cur), n))
    return [text for text, _ in passages]


def iter_pages(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("_"))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if not name.endswith(".html"):
                continue
            if rel_dir == "." and SKIP_FILES.match(name):
                continue
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            yield rel, os.path.join(dirpath, name)


def read_source(label, root, max_tokens):
    """Parses every page under root; returns (pages with text, passage records, (heading, source) pairs)."""
    records, headings, pages = [], [], 0
    for rel, path in iter_pages(root):
        rel = f"{label}/{rel}"
        with open(path, encoding="utf-8", errors="replace") as f:
            p = PageParser()
            p.feed(f.read())
            p.close()
        if not p.blocks:
            continue  # redirect stubs and pages without a main body
        pages += 1
        title = clean_title(p.title)
        for i, text in enumerate(chunk(p.blocks, title, max_tokens)):
            records.append({"id": f"{rel}#{i}", "title": title, "text": text, "path": rel})
        for _level, text, anchor in p.headings:
            headings.append((SECTION_NUMBER.sub("", text).strip(), f"{rel}#{anchor}"))
    return pages, records, headings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", action="append", metavar="LABEL=DIR",
                    help="a Sphinx HTML tree; passage paths are LABEL/<path in DIR> (default: %s)"
                    % " ".join(DEFAULT_SOURCES))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "pydoc"))
    ap.add_argument("--tokens", type=int, default=256,
                    help="most (estimated) model tokens per passage, title included")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    records, headings, pages, per_source = [], [], 0, {}
    for src in args.source or DEFAULT_SOURCES:
        label, root = src.split("=", 1)
        n_pages, recs, heads = read_source(label, root, args.tokens)
        pages += n_pages
        per_source[label] = len(recs)
        records += recs
        headings += heads

    os.makedirs(args.out, exist_ok=True)

    def write(name, recs):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            for r in recs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    write("passages.jsonl", records)
    shuffled = random.Random(args.seed).sample(records, len(records))
    write("passages_20k.jsonl", shuffled[:20000])
    write("passages_5k.jsonl", shuffled[:5000])

    seen, unique = set(), []
    for text, src in headings:
        key = text.casefold()
        if len(text) < 3 or key in seen:
            continue
        seen.add(key)
        unique.append((text, src))
    picked = random.Random(args.seed).sample(unique, min(args.queries, len(unique)))
    with open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as f:
        for i, (text, _) in enumerate(picked):
            f.write(f"q{i:03d}\t{text}\n")
    with open(os.path.join(args.out, "queries_source.tsv"), "w", encoding="utf-8") as f:
        for i, (_, src) in enumerate(picked):
            f.write(f"q{i:03d}\t{src}\n")

    def dist(values):
        v = sorted(values)
        return f"p10 {v[len(v) // 10]}, median {v[len(v) // 2]}, p90 {v[9 * len(v) // 10]}, max {v[-1]}"

    print(f"pages: {pages}; passages per source: {per_source}")
    print(f"passages: {len(records)}; whitespace words per passage: "
          f"{dist(len(r['text'].split()) for r in records)}; estimated tokens (title + text): "
          f"{dist(2 + est_tokens(r['title'] + ' ' + r['text']) for r in records)}")
    print(f"headings: {len(headings)} ({len(unique)} unique); queries: {len(picked)} -> {args.out}")
    if len(records) < 20000:
        print(f"WARNING: only {len(records)} passages; passages_20k.jsonl holds them all")


if __name__ == "__main__":
    main()
