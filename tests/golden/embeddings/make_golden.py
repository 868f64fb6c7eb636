#!/usr/bin/env python3
"""Regenerate the golden sentence-embedding reference data for the C++ encoder.

Run from the repository root (no network is needed or used):

    /work/tmp/venv/bin/python tests/golden/embeddings/make_golden.py

Writes, next to this script:
  texts.jsonl                      the input texts, one {"text": ...} per line
  minilm.f32 / minilm.json         all-MiniLM-L6-v2 embeddings (+ token counts)
  minilm.tokens.jsonl              the token ids the model saw for each text
  tiny_models/<name>/              four tiny random-weight sentence-transformers
                                   BERT folders exercising other code paths
  <name>[.<prompt>].f32 / .json    their embeddings, <name>.tokens.jsonl their ids

Python is not part of the project's build: this script only produces the
committed reference files.  See README.md in this folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import unicodedata
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_MINILM = Path(
    os.environ.get("LEANN_MINILM_DIR", "/root/.local/share/leann/models/all-MiniLM-L6-v2")
)

# --------------------------------------------------------------------------
# Texts.  Everything here was written for this file (generic phrasing).
# --------------------------------------------------------------------------

PARAGRAPHS = [
    # gardening
    "Most vegetable gardens do well with six to eight hours of direct sun each day. "
    "Before planting, loosen the soil to the depth of a spade and work in a few "
    "centimetres of compost, which improves drainage in heavy clay and helps sandy "
    "ground hold water. Tomatoes, peppers and beans prefer warm soil, so wait until "
    "the last frost has passed. Leafy greens such as lettuce and spinach tolerate "
    "cooler weather and can be sown early in spring or again at the end of summer. "
    "Water deeply and less often rather than a little every day, because deep "
    "watering encourages roots to grow downward where the soil stays moist.",
    # astronomy
    "On a clear night away from city lights, the band of the Milky Way is easy to see "
    "with the naked eye. It is the combined glow of billions of distant stars in the "
    "disk of our own galaxy. A pair of ordinary binoculars reveals far more: the moons "
    "of Jupiter appear as tiny points lined up beside the planet, the craters along "
    "the edge of the Moon stand out sharply, and faint smudges turn out to be star "
    "clusters and nebulae. Observers usually let their eyes adapt to the dark for "
    "twenty minutes and use a dim red light to read their charts.",
    # cooking
    "To make a simple loaf of bread, mix five hundred grams of flour with ten grams of "
    "salt, seven grams of dried yeast and about three hundred and fifty millilitres of "
    "lukewarm water. Knead the dough for ten minutes until it feels smooth and springs "
    "back when pressed. Cover the bowl and leave it somewhere warm until the dough has "
    "doubled in size, which can take one to two hours. Shape it gently, let it rise "
    "once more, then bake in a hot oven for thirty to thirty-five minutes. The loaf is "
    "done when it sounds hollow when tapped underneath.",
    # computing history
    "Early computers filled entire rooms and were programmed by setting switches or "
    "feeding in punched cards. Memory was scarce and expensive, so programmers wrote "
    "compact code and reused every byte they could. The invention of the transistor, "
    "and later the integrated circuit, made machines smaller, cheaper and far more "
    "reliable. High-level languages allowed people to describe algorithms without "
    "thinking about individual registers, and operating systems began to share a "
    "single processor among many users. Each step made computing accessible to more "
    "people and created entirely new kinds of software.",
    # rivers
    "A river carries not only water but also sand, gravel and dissolved minerals from "
    "the mountains toward the sea. Where the current slows, on the inside of a bend or "
    "where the river enters a lake, it drops the heavier material and builds banks "
    "and bars. Over centuries the channel wanders across its valley, cutting into one "
    "side while depositing on the other. Floods spread fine silt over the surrounding "
    "plain, which is why river valleys have long been some of the most fertile "
    "farmland in the world.",
    # music practice
    "Learning an instrument is mostly a matter of steady, patient practice. Short "
    "sessions every day tend to work better than one long session each week. Start "
    "slowly, with a metronome, and only increase the tempo once a passage can be "
    "played cleanly several times in a row. Recording yourself is uncomfortable at "
    "first but reveals problems that are hard to notice while playing. Above all, "
    "keep listening to music you enjoy, because a clear idea of the sound you want is "
    "the best guide for your hands.",
    # public transport
    "A good public transport network is built around frequent service on a small "
    "number of direct routes. Passengers care most about how long they must wait, "
    "so a bus every ten minutes is often more useful than a faster bus every hour. "
    "Timed transfers at well designed interchanges let people reach many destinations "
    "with a single change. Clear maps, reliable real-time information and simple "
    "fares make the system easier to understand, and dedicated lanes keep buses "
    "moving when the roads are congested.",
    # weather
    "Weather forecasts combine observations from ground stations, balloons, ships, "
    "aircraft and satellites with numerical models of the atmosphere. The models "
    "divide the air into a three-dimensional grid and step the equations of fluid "
    "motion forward in time. Because small errors in the starting conditions grow "
    "quickly, forecasters run the same model many times with slightly different "
    "inputs. When most runs agree, confidence is high; when they spread apart, the "
    "forecast is given as a range of possibilities rather than a single answer.",
]

LONG_TEXT = "\n\n".join(PARAGRAPHS + PARAGRAPHS[::-1])

PYTHON_CODE = '''def fibonacci(n: int) -> list[int]:
    """Return the first n Fibonacci numbers."""
    seq = [0, 1]
    while len(seq) < n:
        seq.append(seq[-1] + seq[-2])
    return seq[:n]

if __name__ == "__main__":
    print(fibonacci(10))'''

CPP_CODE = '''#include <vector>
#include <numeric>

template <typename T>
T dot(const std::vector<T>& a, const std::vector<T>& b) {
    return std::inner_product(a.begin(), a.end(), b.begin(), T{0});
}

int main() { std::vector<float> v{1.f, 2.f}; return dot(v, v) > 4.0f ? 0 : 1; }'''

RUST_CODE = '''fn main() {
    let words = vec!["alpha", "beta", "gamma"];
    let lens: Vec<usize> = words.iter().map(|w| w.len()).collect();
    match lens.iter().max() {
        Some(&m) => println!("longest = {m}"),
        None => eprintln!("empty"),
    }
}'''

JSON_TEXT = '{"id": 42, "name": "sensor-7", "tags": ["indoor", "humidity"], "reading": {"value": 63.5, "unit": "%"}, "active": true, "parent": null}'

SHELL_TEXT = '''#!/bin/sh
set -eu
for f in *.log; do
  gzip -9 "$f" && echo "compressed $f" >> /tmp/archive.txt
done
find . -name '*.gz' -mtime +30 -exec rm -f {} \\;'''


def build_texts() -> list[str]:
    t: list[str] = []
    # English sentences
    t += [
        "The quick brown fox jumps over the lazy dog.",
        "A vector database stores embeddings so that similar items can be found quickly.",
        "She opened the window to let in the cool morning air.",
        "Please remember to back up your files before installing the update.",
        "The museum is closed on Mondays but open late on Thursday evenings.",
        "Graph-based indexes trade a little accuracy for a large gain in search speed.",
        "After the rain stopped, children ran outside to jump in the puddles.",
        "It was the best of times, it was the worst of times.",
        "Turn left at the second traffic light and the library is on your right.",
        "Recomputing embeddings on demand saves storage at the cost of extra computation.",
        "THIS SENTENCE IS WRITTEN ENTIRELY IN CAPITAL LETTERS.",
        "Title Case Headlines Often Capitalise Every Important Word",
        "   leading and trailing spaces should not matter much   ",
    ]
    # short queries
    t += [
        "how to bake bread",
        "best time to plant tomatoes",
        "what is a nearest neighbor search?",
        "python read file line by line",
        "weather tomorrow",
        "cheap flights to Lisbon in May",
        "symptoms of dehydration",
        "HNSW vs IVF",
    ]
    # a paragraph and a text far longer than 256 tokens
    t += [PARAGRAPHS[0], PARAGRAPHS[3], LONG_TEXT]
    # empty, whitespace only, single characters
    t += ["", "   \t\n  ", "a", "Z", "中", "?", "7"]
    # CJK
    t += [
        "我们今天下午去公园散步，然后在湖边喝茶。",
        "機械学習のモデルは大量のデータから規則性を学びます。",
        "東京駅から新幹線で大阪まで約二時間半かかります。",
        "오늘 날씨가 정말 좋아서 한강 공원에 갔어요.",
        "向量数据库 vector database 검색 検索",
    ]
    # emoji
    t += [
        "I love this! 😍🎉👍",
        "🚀🌕✨ to the moon",
        "family: 👨‍👩‍👧‍👦 flags: 🇩🇪🇯🇵 skin tone: 👋🏽",
    ]
    # accented European, Cyrillic, Greek, other scripts
    t += [
        "Café crème, crème brûlée et pâté à la française.",
        "Größere Straßen führen über die Brücke nach Köln.",
        "¿Dónde está la estación de tren? Mañana viajaré a Señora Peña.",
        "Zażółć gęślą jaźń — łódź płynie po jeziorze.",
        "Ação, coração e informação são palavras portuguesas.",
        "Москва — столица России, а Санкт-Петербург стоит на Неве.",
        "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
        "ΟΔΟΣ ΑΘΗΝΑΣ",
        "مرحبا بالعالم، هذا نص عربي قصير.",
        "שלום עולם, זהו משפט קצר בעברית.",
        "नमस्ते दुनिया, यह एक छोटा वाक्य है।",
        "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
        "Tiếng Việt có rất nhiều dấu thanh điệu.",
        "İstanbul'da ılık bir akşam; ŞİŞLİ ve Üsküdar.",
    ]
    # source code
    t += [PYTHON_CODE, CPP_CODE, RUST_CODE, JSON_TEXT, SHELL_TEXT]
    # URLs, emails, paths, numbers, punctuation
    t += [
        "https://example.com/path/to/page?query=vector+search&lang=en#section-2",
        "Contact support@example.org or visit http://www.example.net:8080/docs/index.html",
        "/usr/local/lib/python3.11/site-packages/numpy/__init__.py",
        "3.14159 2.71828 1e-9 -42 +7 1,000,000 0xFF 0b1010 50% $19.99 €5 ¥300",
        "Call 555-0123 on 2024-03-15 at 14:30; order #A7-99/b costs 12.50.",
        "!!!??? ... --- *** ### @@@ ((())) [[[]]] {{{}}} <<<>>> ~~~ ^^^ |||",
        "Wait... what?! No -- really??? \"Quoted\" and 'single' `backticks`.",
    ]
    # control characters, tabs, zero-width and other invisible code points
    t += [
        "col1\tcol2\tcol3\nvalue1\tvalue2\tvalue3\r\nend",
        "bell\x07 null\x00 escape\x1b[0m delete\x7f vertical\x0bfeed\x0cend",
        "zero\u200bwidth\u200cjoiner\u200d soft\u00adhyphen no\u00a0break \ufeffbom",
        "line\u2028separator and paragraph\u2029separator and nel\x85end",
        "e\u0301 versus \u00e9, fi ligature \ufb01 and fullwidth \uff21\uff22\uff23 \uff11\uff12\uff13",
    ]
    # mixed scripts, repeated words, very long word
    t += [
        "Hello 世界! Привет мир! Γειά σου κόσμε! مرحبا 🌍 こんにちは",
        "The 東京 office uses Python 3.12 and C++20 for the 検索 service.",
        "buffalo " * 40,
        ("repeat " * 300).strip(),
        "supercalifragilisticexpialidocious" * 4,
        "x" * 101 + " then normal words after an over-long token",
    ]
    return t


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def _json_escape_invisible(s: str) -> str:
    """json.dumps(ensure_ascii=False) but with invisible / line-breaking code
    points escaped, so every record stays on one physical line for any reader
    (Python's splitlines() would split on U+2028, U+0085, ...)."""
    out = []
    for ch in json.dumps(s, ensure_ascii=False):
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs") or (cat == "Zs" and ch != " "):
            cp = ord(ch)
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return "".join(out)


def write_jsonl_texts(path: Path, texts: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for s in texts:
            f.write('{"text": ' + _json_escape_invisible(s) + "}\n")
    # round-trip check
    with open(path, encoding="utf-8") as f:
        back = [json.loads(line)["text"] for line in f.read().split("\n") if line]
    assert back == texts, "texts.jsonl does not round-trip"


def write_f32(path: Path, emb: np.ndarray) -> None:
    arr = np.ascontiguousarray(emb, dtype="<f4")
    path.write_bytes(arr.tobytes(order="C"))


def dump_meta(meta: dict) -> str:
    """Pretty JSON with one key per line but lists kept on a single line."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def versions() -> dict:
    import sentence_transformers
    import tokenizers
    import transformers

    return {
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def st_preprocess(model, texts):
    fn = getattr(model, "preprocess", None) or model.tokenize
    return fn(texts)


def token_info(model, texts, prompt: str | None = None):
    """Ids as the model sees them (truncated) and the untruncated length."""
    ids, full = [], []
    for s in texts:
        s2 = (prompt or "") + s
        feats = st_preprocess(model, [s2])
        mask = feats["attention_mask"][0]
        ids.append([int(x) for x in feats["input_ids"][0][mask.bool()]])
        full.append(len(model.tokenizer(s2, add_special_tokens=True, truncation=False)["input_ids"]))
    return ids, full


def describe(model) -> list[str]:
    mods = []
    for m in model:
        mods.append(f"{type(m).__module__}.{type(m).__name__}")
    return mods


def pooling_mode(model) -> str:
    pool = model[1]
    for attr in ("pooling_mode",):
        if hasattr(pool, attr):
            v = getattr(pool, attr)
            if isinstance(v, str):
                return v
    cfg = pool.get_config_dict() if hasattr(pool, "get_config_dict") else {}
    return str(cfg.get("pooling_mode", cfg))


def has_normalize(model) -> bool:
    return any(type(m).__name__ == "Normalize" for m in model)


# --------------------------------------------------------------------------
# Tiny models
# --------------------------------------------------------------------------

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SUFFIXES = ["##s", "##es", "##ed", "##ing", "##ly", "##er", "##ers", "##est", "##tion",
            "##tions", "##ment", "##al", "##able", "##ness", "##ity", "##ize", "##ful",
            "##ic", "##ous", "##ive"]
CJK_CHARS = "的我们今天下午公园中国日本東京語学習検索数据库世界人大小"
GREEK_LOWER = "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώς"
LATIN1_LETTERS = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ"


def build_vocab(texts: list[str], lowercase: bool, size: int) -> list[str]:
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    norm = BertNormalizer(clean_text=True, handle_chinese_chars=True,
                          strip_accents=None, lowercase=lowercase)
    pre = BertPreTokenizer()
    words = Counter()
    for s in texts:
        for w, _ in pre.pre_tokenize_str(norm.normalize_str(s)):
            words[w] += 1

    vocab: list[str] = list(SPECIALS)
    seen = set(vocab)

    def add(tok: str) -> None:
        if tok and tok not in seen and not any(c.isspace() for c in tok):
            seen.add(tok)
            vocab.append(tok)

    chars = [chr(c) for c in range(0x21, 0x7F)]
    if lowercase:
        chars = [c for c in chars if not ("A" <= c <= "Z")]
        chars += [c for c in LATIN1_LETTERS if c.islower()]  # unused after accent stripping, harmless
    else:
        chars += list(LATIN1_LETTERS)
    chars += list(GREEK_LOWER) + list(CJK_CHARS)
    for c in chars:
        add(c)
    for c in chars:
        add("##" + c)
    for p in SUFFIXES:
        add(p)

    # Most frequent whole words (ties by the word itself): about 60% of what is left.
    budget_words = int((size - len(vocab)) * 0.6)
    ranked = sorted((w for w in words if len(w) > 1), key=lambda w: (-words[w], w))
    left_out = []
    for w in ranked:
        if budget_words > 0 and all(not unicodedata.category(c).startswith("C") for c in w):
            if w not in seen:
                add(w)
                budget_words -= 1
        else:
            left_out.append(w)
    # Pieces of the words that were left out: prefixes (3-5 chars) and ##suffixes
    # (2-4 chars), by frequency, so those words split into several pieces.
    pieces = Counter()
    for w in left_out:
        for n in (3, 4, 5):
            if len(w) > n:
                pieces[w[:n]] += words[w]
        for n in (2, 3, 4):
            if len(w) > n + 1:
                pieces["##" + w[-n:]] += words[w]
    for p in sorted(pieces, key=lambda p: (-pieces[p], p)):
        if len(vocab) >= size:
            break
        add(p)
    return vocab[:size]


def init_weights(model, seed: int) -> None:
    """Random init with a fixed seed, scaled so the network is not near-identity
    (BERT's default std 0.02 gives almost uniform attention and tiny signals)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p.copy_(1.0 + 0.5 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif "embeddings" in name:
                p.copy_(0.7 * torch.randn_like(p))
            elif p.dim() == 2:
                fan_in = p.shape[1]
                gain = 2.0 if (".query." in name or ".key." in name) else 1.0
                p.copy_(gain * torch.randn_like(p) / math.sqrt(fan_in))
            else:
                p.copy_(0.1 * torch.randn_like(p))


def bert_config(vocab_size: int, **over):
    from transformers import BertConfig

    kw = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=128, type_vocab_size=2,
        hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        position_embedding_type="absolute", initializer_range=0.02,
    )
    kw.update(over)
    cfg = BertConfig(**kw)
    cfg.architectures = ["BertModel"]
    return cfg


def write_st_files(folder: Path, *, pooling: str, normalize: bool, max_seq_length: int,
                   prompts: dict | None = None) -> None:
    mods = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize",
                     "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(mods, indent=2) + "\n")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pool_cfg = {
        "word_embedding_dimension": 32,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pool_cfg, indent=2) + "\n")
    # No 2_Normalize/ folder: Normalize has no files, git cannot keep an empty
    # folder, and hub models (all-MiniLM-L6-v2 included) often lack it too.
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}, indent=2) + "\n")
    v = versions()
    cst = {
        "__version__": {"sentence_transformers": v["sentence_transformers"],
                        "transformers": v["transformers"], "pytorch": v["torch"]},
        "prompts": prompts or {},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    (folder / "config_sentence_transformers.json").write_text(json.dumps(cst, indent=2) + "\n")


def write_tokenizer(folder: Path, vocab: list[str], lowercase: bool, max_len: int,
                    fast: bool) -> None:
    vocab_path = folder / "vocab.txt"
    vocab_path.write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    tok_cfg = {
        "do_lower_case": lowercase,
        "tokenize_chinese_chars": True,
        "strip_accents": None,
        "do_basic_tokenize": True,
        "never_split": None,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "cls_token": "[CLS]", "mask_token": "[MASK]",
        "tokenizer_class": "BertTokenizer",
        "model_max_length": max_len,
        "clean_up_tokenization_spaces": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
         "cls_token": "[CLS]", "mask_token": "[MASK]"}, indent=2) + "\n")
    if fast:
        from tokenizers import BertWordPieceTokenizer

        tk = BertWordPieceTokenizer(str(vocab_path), unk_token="[UNK]", sep_token="[SEP]",
                                    cls_token="[CLS]", pad_token="[PAD]", mask_token="[MASK]",
                                    clean_text=True, handle_chinese_chars=True,
                                    strip_accents=None, lowercase=lowercase,
                                    wordpieces_prefix="##")
        tk.save(str(folder / "tokenizer.json"))


def make_tiny(name: str, texts: list[str], *, seed: int, pooling: str, normalize: bool,
              max_seq_length: int, lowercase: bool = True, fast_tokenizer: bool = True,
              weights: str = "safetensors", prompts: dict | None = None,
              vocab_size: int = 1100, **cfg_over) -> Path:
    from transformers import BertModel

    folder = HERE / "tiny_models" / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    vocab = build_vocab(texts, lowercase, vocab_size)
    cfg = bert_config(len(vocab), **cfg_over)
    model = BertModel(cfg)
    init_weights(model, seed)
    model.eval()
    cfg.to_json_file(str(folder / "config.json"))
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    if weights == "safetensors":
        from safetensors.torch import save_file

        save_file(sd, str(folder / "model.safetensors"), metadata={"format": "pt"})
    else:
        torch.save(sd, str(folder / "pytorch_model.bin"))
    write_tokenizer(folder, vocab, lowercase, max_seq_length, fast_tokenizer)
    write_st_files(folder, pooling=pooling, normalize=normalize,
                   max_seq_length=max_seq_length, prompts=prompts)
    return folder


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def encode_and_write(model, stem: str, texts: list[str], meta: dict,
                     prompt_name: str | None = None, write_tokens: bool = True) -> np.ndarray:
    kw = {"prompt_name": prompt_name} if prompt_name else {}
    emb = model.encode(texts, batch_size=16, convert_to_numpy=True,
                       normalize_embeddings=False, show_progress_bar=False, **kw)
    emb = np.asarray(emb, dtype=np.float32)
    assert emb.shape == (len(texts), meta["dims"]), emb.shape
    assert np.all(np.isfinite(emb))
    write_f32(HERE / f"{stem}.f32", emb)
    prompt = model.prompts.get(prompt_name) if prompt_name else None
    ids, full = token_info(model, texts, prompt)
    meta = dict(meta)
    meta["count"] = len(texts)
    if prompt_name:
        meta["prompt_name"] = prompt_name
        meta["prompt"] = prompt
    meta["file"] = f"{stem}.f32"
    meta["dtype"] = "float32-le"
    meta["layout"] = "row-major [count][dims], row i = line i of texts.jsonl"
    meta["token_counts"] = [len(x) for x in ids]
    meta["token_counts_untruncated"] = full
    meta["truncated"] = [i for i, (a, b) in enumerate(zip(meta["token_counts"], full)) if b > a]
    norms = np.linalg.norm(emb, axis=1)
    meta["norm_min"], meta["norm_max"] = float(norms.min()), float(norms.max())
    (HERE / f"{stem}.json").write_text(dump_meta(meta))
    if write_tokens:
        with open(HERE / f"{stem}.tokens.jsonl", "w", encoding="utf-8") as f:
            for x in ids:
                f.write(json.dumps({"ids": x}) + "\n")
    # Non-degeneracy report: spread of pairwise cosine similarities.
    u = emb / np.maximum(norms[:, None], 1e-12)
    c = u @ u.T
    off = c[~np.eye(len(texts), dtype=bool)]
    print(f"  {stem}: shape={emb.shape} norms=[{norms.min():.4f},{norms.max():.4f}] "
          f"pairwise cos mean={off.mean():.3f} std={off.std():.3f} min={off.min():.3f} "
          f"max={off.max():.3f} truncated={meta['truncated']}")
    return emb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minilm", type=Path, default=DEFAULT_MINILM,
                    help="all-MiniLM-L6-v2 sentence-transformers folder (default: %(default)s)")
    args = ap.parse_args()

    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    texts = build_texts()
    assert len(texts) >= 60, len(texts)
    write_jsonl_texts(HERE / "texts.jsonl", texts)
    v = versions()
    print(f"{len(texts)} texts; versions: {v}")

    # ---- default model ----------------------------------------------------
    model = SentenceTransformer(str(args.minilm), device="cpu")
    model.eval()
    print("all-MiniLM-L6-v2 modules:", describe(model))
    assert pooling_mode(model) == "mean" and has_normalize(model), model
    assert model.max_seq_length == 256
    meta = {"model": "all-MiniLM-L6-v2", "dims": 384, "normalized": True, "pooling": "mean",
            "max_seq_length": 256, **v}
    encode_and_write(model, "minilm", texts, meta)
    del model

    # ---- tiny models --------------------------------------------------------
    specs = [
        dict(name="tiny-cls-norm", seed=1001, pooling="cls", normalize=True, max_seq_length=64,
             weights="safetensors"),
        dict(name="tiny-mean-raw", seed=1002, pooling="mean", normalize=False, max_seq_length=64,
             weights="bin"),
        dict(name="tiny-e5-prompts", seed=1003, pooling="mean", normalize=True, max_seq_length=64,
             weights="safetensors", prompts={"query": "query: ", "passage": "passage: "}),
        dict(name="tiny-cased-vocabtxt", seed=1004, pooling="mean", normalize=True,
             max_seq_length=32, weights="safetensors", lowercase=False, fast_tokenizer=False,
             layer_norm_eps=1e-5, hidden_act="gelu"),
    ]
    for spec in specs:
        name = spec["name"]
        folder = make_tiny(texts=texts, **spec)
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        size = sum((folder / f).stat().st_size for f in files)
        print(f"{name}: {size} bytes, files {files}")
        assert size < 300_000, (name, size)

        m = SentenceTransformer(str(folder), device="cpu")
        m.eval()
        mods = describe(m)
        print(f"  loaded offline; modules: {mods}")
        print("  " + repr(m).replace("\n", "\n  "))
        assert pooling_mode(m) == spec["pooling"], (name, pooling_mode(m))
        assert has_normalize(m) == spec["normalize"], name
        assert m.max_seq_length == spec["max_seq_length"], (name, m.max_seq_length)
        lower = spec.get("lowercase", True)
        # The tokenizer must follow the intended casing.
        probe = m.tokenizer.tokenize("The Quick")
        assert (probe[0] == "the") == lower, (name, probe)
        if not spec.get("fast_tokenizer", True):
            assert not (folder / "tokenizer.json").exists()
        meta = {"model": name, "dims": 32, "normalized": spec["normalize"],
                "pooling": spec["pooling"], "max_seq_length": spec["max_seq_length"],
                "do_lower_case": lower, "weights": "model.safetensors"
                if spec["weights"] == "safetensors" else "pytorch_model.bin",
                "tokenizer": "tokenizer.json" if spec.get("fast_tokenizer", True)
                else "vocab.txt+tokenizer_config.json",
                "vocab_size": m[0].auto_model.config.vocab_size if hasattr(m[0], "auto_model")
                else None, **v}
        if spec.get("prompts"):
            assert m.prompts.get("query") == "query: " and m.prompts.get("passage") == "passage: "
            assert m.default_prompt_name is None
            encode_and_write(m, name, texts, meta)  # no prompt: default_prompt_name is null
            for pn in ("query", "passage"):
                encode_and_write(m, f"{name}.{pn}", texts, meta, prompt_name=pn)
        else:
            encode_and_write(m, name, texts, meta)
        # Sanity: the tiny model really produces outputs different per text and uses UNK.
        unk = m.tokenizer.convert_tokens_to_ids("[UNK]")
        ids, _ = token_info(m, texts)
        n_unk = sum(x.count(unk) for x in ids)
        n_tok = sum(len(x) for x in ids)
        print(f"  tokens: {n_tok} total, {n_unk} [UNK]")
        del m

    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"folder total: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
