#!/usr/bin/env python3
"""Writes golden.jsonl: varied inputs and the token ids Hugging Face `tokenizers` gives for them.

Reference: the default model's tokenizer.json (all-MiniLM-L6-v2, uncased BERT WordPiece), with the file's own
padding and truncation turned off, and variants that differ only in the normaliser (built by editing the JSON,
exactly as tests/unit/test_tokenizer.cpp does):

  uncased      the file as it is (clean_text, handle_chinese_chars, strip_accents=null, lowercase)
  uncased_256  the same, truncated to 256 ids (sentence-transformers' max_seq_length for this model)
  uncased_512  the same, truncated to 512 ids
  cased        lowercase=false, strip_accents=false
  raw_lower    clean_text=false, handle_chinese_chars=false, strip_accents=false, lowercase=true
  strip_only   clean_text=true, handle_chinese_chars=false, strip_accents=true, lowercase=false

One JSON object per line: "name", then either "text" (the input; json escapes keep control characters and lone
characters intact) or "hex" (raw bytes that are not valid UTF-8; the reference saw
bytes.decode("utf-8", errors="replace")), then one id list per variant above. uncased_256 / uncased_512 are left
out when they equal uncased (the text fits).

It also writes normalizer.jsonl: the short inputs plus strings dense in combining marks, each with the
BertNormalizer output in 8 settings and the BertPreTokenizer words. Those check the normaliser directly where the ids
cannot see it (NFD's canonical reordering of marks only shows inside words this vocabulary maps to [UNK]).

Usage: /work/tmp/venv/bin/python tests/golden/tokenizer/make_golden.py [--model-dir DIR]
"""

import argparse
import json
import os
import random

import tokenizers
import tokenizers.normalizers
import tokenizers.pre_tokenizers
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share")), "leann", "models",
                             "all-MiniLM-L6-v2")

VARIANTS = {
    "cased": {"lowercase": False, "strip_accents": False},
    "raw_lower": {"clean_text": False, "handle_chinese_chars": False, "strip_accents": False, "lowercase": True},
    "strip_only": {"clean_text": True, "handle_chinese_chars": False, "strip_accents": True, "lowercase": False},
}

PROSE = (
    "The quick brown fox jumps over the lazy dog. Semantic search finds passages by meaning rather than by "
    "exact words: a query about \"feline pets\" should match a paragraph about cats. LEANN keeps the index "
    "small by storing a pruned graph and recomputing embeddings on demand, which trades CPU time for disk "
    "space. Isn't that clever? It's a trade-off we've measured on 60,000,000 passages (about 201 GB of text). "
)

CODE_CPP = """#include <vector>
template <typename T>
T sum(const std::vector<T>& xs) {
    T total{};
    for (const auto& x : xs) total += x;  // accumulate
    return total;
}
int main() { return sum(std::vector<int>{1, 2, 3}) == 6 ? 0 : 1; }
"""

CODE_PYTHON = '''def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

print(f"{fib(30)=}")  # 832040
'''

CODE_RUST = """fn main() {
    let v: Vec<u32> = (1..=10).filter(|x| x % 2 == 0).collect();
    println!("{:?}", v);
    let s = String::from("héllo");
    match s.chars().next() { Some(c) if c.is_alphabetic() => {}, _ => unreachable!() }
}
"""

CODE_JS = "const add = (a, b) => a + b;\nexport default async function load(url) {\n  const r = await fetch(url);\n" \
          "  return r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`));\n}\n"

CODE_SQL = "SELECT u.id, COUNT(*) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.created_at >= " \
           "'2024-01-01' GROUP BY u.id HAVING COUNT(*) > 3 ORDER BY n DESC LIMIT 10;"

CODE_OTHER = [
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Test &amp; more</title></head>"
    "<body><p class='x'>Hello&nbsp;world</p></body></html>",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do wc -l \"$f\" | awk '{print $1}'; done 2>&1 | sort -n",
    "{\"name\": \"leann\", \"version\": \"0.1.0\", \"deps\": [\"nlohmann_json\", \"gtest\"], \"nested\": {\"a\": null}}",
    r"^(?P<user>[\w.+-]+)@(?P<host>[\w-]+\.)+[A-Za-z]{2,}$",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tch := make(chan int, 3)\n\tgo func() { ch <- 42 }()\n"
    "\tfmt.Println(<-ch)\n}\n",
    "public static void Main(string[] args) { Console.WriteLine($\"Hi {args.Length}\"); }",
    "(define (fact n) (if (<= n 1) 1 (* n (fact (- n 1)))))",
    "\\begin{equation} \\int_0^\\infty e^{-x^2} dx = \\frac{\\sqrt{\\pi}}{2} \\end{equation}",
    "x = np.linspace(0, 2*np.pi, 100); y = np.sin(x) ** 2 + np.cos(x) ** 2  # == 1.0",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case-name __dunder__ getHTTPResponseCode",
]


def hand_written():
    inputs = [
        ("prose", PROSE),
        ("prose_short", "Hello, world!"),
        ("prose_questions", "What's the capital of France? Paris. Who wrote 'Hamlet'? Shakespeare!"),
        ("prose_contractions", "I'm sure they'd've known it wasn't y'all's fault; don't you think?"),
        ("prose_hyphens", "state-of-the-art, well-known, re-enter, co-operate, e-mail, x-ray, T-shirt"),
        ("prose_caps", "THE UNITED NATIONS (UN) AND NASA ANNOUNCED IT ON MONDAY."),
        ("prose_newlines", "First line.\nSecond line.\r\nThird line.\rFourth.\n\n\nEnd."),
        ("prose_markdown", "# Title\n\n* item **bold** _italic_ `code`\n> quote\n\n[link](https://example.com)"),
        ("code_cpp", CODE_CPP),
        ("code_python", CODE_PYTHON),
        ("code_rust", CODE_RUST),
        ("code_js", CODE_JS),
        ("code_sql", CODE_SQL),
    ]
    inputs += [(f"code_other_{i}", t) for i, t in enumerate(CODE_OTHER)]
    inputs += [
        ("url_https", "https://www.example.com/path/to/page?query=semantic+search&lang=en#section-2"),
        ("url_ftp_ip", "ftp://user:pass@192.168.0.1:2121/files/archive.tar.gz"),
        ("url_unicode", "https://ja.wikipedia.org/wiki/東京都 and http://xn--bcher-kva.example/bücher"),
        ("email", "Contact: first.last+tag@sub.example.co.uk, <noreply@example.org>"),
        ("path_unix", "/usr/local/lib/python3.11/site-packages/tokenizers/__init__.py"),
        ("path_windows", "C:\\Program Files\\LEANN\\bin\\leann.exe --index D:\\data\\idx"),
        ("numbers", "3.14159 2.71828 1,000,000 1e-9 -42 +7 0.5% 1/2 3:45pm 2024-06-11T12:34:56Z"),
        ("numbers_hex", "0xDEADBEEF 0b1010 0o777 #ff00aa v1.2.3-rc.4+build.5 IPv6 ::1 fe80::1%eth0"),
        ("numbers_phone", "+1 (555) 123-4567, 555.123.4567, +44 20 7946 0958"),
        ("numbers_long", "12345678901234567890123456789012345678901234567890"),
        ("numbers_units", "5km 10kg 3.5GHz 16GiB 1,5 € 100°C 72°F 9.81m/s² ½ ¾ ⅔ ² ³ ¹"),
        ("french", "Ça a été très élégant : une façade naïve, un cœur d'œuvre, « où est-il ? » — Noël à l'hôtel."),
        ("german", "Größe, Straße, Äpfel, Übermäßig, Öl, STRASSE, ẞ, Fußgängerübergänge"),
        ("vietnamese", "Tiếng Việt có dấu: Hà Nội, Đà Nẵng, Thành phố Hồ Chí Minh, người, những, được, Nguyễn"),
        ("spanish", "¿Qué tal? ¡Mañana será otro día! El niño comió piña en Señor Ñandú."),
        ("polish_czech", "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy."),
        ("nordic", "Ærø, Øresund, Åland, þorn, ðæt, Ísland, Føroyar"),
        ("romanian_turkish", "Știință și țară. Türkçe: İstanbul, ığdır, Iİıi, ŞŞşş, ĞğÇçÖöÜü"),
        ("turkish_dotted_i", "\u0130 \u0130\u0130 \u0130stanbul D\u0130YARBAKIR i\u0307 I\u0307"),
        ("greek", "Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί. ΣΊΣΥΦΟΣ Οδυσσεύς ΐ ΰ ῷ"),
        ("greek_sigma", "ΟΔΟΣ ΟΔΟΣ. Σ σ ς ΣΑΣ ΑΣ ΑΣ."),
        ("greek_polytonic", "Ἀρχὴ ἥμισυ παντός. ᾯ ᾨ ᾳ ῼ"),
        ("cyrillic", "Съешь же ещё этих мягких французских булок, да выпей чаю. Москва, Ёлка, ЙЦУКЕН, Її Ґґ"),
        ("armenian_georgian", "Բարեւ աշխարհ. ﬓ ﬔ. გამარჯობა მსოფლიო. Ა Ჰ"),
        ("hebrew", "שָׁלוֹם עוֹלָם! עִבְרִית"),
        ("arabic", "مَرْحَبًا بِالْعَالَمِ! السلام عليكم. ١٢٣٤٥"),
        ("devanagari", "नमस्ते दुनिया। हिन्दी भाषा क़ ख़"),
        ("thai", "สวัสดีชาวโลก ภาษาไทย ๑๒๓"),
        ("tamil_bengali", "வணக்கம் உலகம். ওহে বিশ্ব।"),
        ("chinese", "我爱北京天安门。语义搜索很有用，对吧？"),
        ("chinese_traditional", "臺灣的繁體中文與簡體中文不同。"),
        ("japanese", "ひらがなとカタカナ、漢字。東京タワーに行きました！ｶﾀｶﾅ ﾊﾟﾝ"),
        ("japanese_dakuten", "か\u3099 ハ\u309a が ぱ ヴ"),
        ("korean", "안녕하세요 세계! 한국어 텍스트입니다."),
        ("korean_jamo", "\u1100\u1161\u11a8 \u1112\u1161\u11ab ᄀᄁᄂ ㄱㄴㄷ"),
        ("cjk_ext_b", "𠀀𠀁𪚥 𠮷野家"),
        ("cjk_compat", "豈 更 車 賈 滑 串 句 龜 \U0002F800\U0002F801"),
        ("cjk_ranges", "\u3400\u4dbf\u4e00\u9fff\uf900\ufaff\U00020000\U0002a6df\U0002a700\U0002b73f\U0002b740"
                       "\U0002b81f\U0002b820\U0002b920\U0002ceaf\U0002ceb0\U00030000\U0002f800\U0002fa1f"),
        ("cjk_mixed", "BERT模型的tokenizer把中文按字切分，English words stay whole."),
        ("cjk_punct", "「こんにちは」『世界』【注意】〈括弧〉《書名》、。・〜！？"),
        ("fullwidth", "ＡＢＣ ａｂｃ １２３ ！＂＃＄％＆＇（）"),
        ("emoji_old", "I ❤ NY ☺ ☃ ✈ ★ ☎"),
        ("emoji_basic", "Great job 😀👍🎉🔥💯"),
        ("emoji_skin_tones", "👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 👋🏽"),
        ("emoji_zwj", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f469\u200d\U0001f4bb "
                      "\U0001f9d1\u200d\U0001f680 \U0001f3f3\ufe0f\u200d\U0001f308 \U0001f3f4\u200d\u2620\ufe0f"),
        ("emoji_flags", "\U0001f1eb\U0001f1f7 \U0001f1ef\U0001f1f5 \U0001f1fa\U0001f1f8 "
                        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"),
        ("emoji_keycap", "1\ufe0f\u20e3 2\ufe0f\u20e3 #\ufe0f\u20e3 *\u20e3"),
        ("emoji_new", "🫨 🩷 🫎 🪼 🫚 🫛 🪿 🫠 🥹 \U0001fae9 \U0001fac6 \U0001fa89"),
        ("control_nul", "ab\x00cd \x00 e\x00"),
        ("control_c0", "a\x01b\x02c\x03d \x07\x08\x1b[0m x\x7fy"),
        ("control_fs_gs", "a\x1cb\x1dc\x1ed\x1ff"),
        ("control_vt_ff", "a\x0bb\x0cc \x0b \x0c"),
        ("control_c1", "a\x80b\x85c\x9fd\x9b"),
        ("zero_width", "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom"),
        ("format_chars", "soft\u00adhyphen \u202eRTL override\u202c \u200e\u200f \u2066iso\u2069 \u061c \u180e"),
        ("variation_selectors", "☺\ufe0f ☺\ufe0e 葛\U000e0100 a\ufe00"),
        ("replacement_char", "bad \ufffd byte\ufffd\ufffdhere"),
        ("tabs_newlines", "a\tb\nc\r\nd\re\t\t\tf\n\n"),
        ("unicode_spaces", "a\u00a0b\u2002c\u2003d\u2009e\u200af\u202fg\u205fh\u3000i\u1680j"),
        ("line_separators", "para\u2028line\u2029end\x85next"),
        ("empty", ""),
        ("space", " "),
        ("whitespace_only", "   \t\n \r\n  \u3000\u00a0 "),
        ("controls_only", "\x00\x01\u200b\ufeff\ufffd"),
        ("punct_ascii", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
        ("punct_runs", "Wait... what?!?! ---- ==== ____ ~~~~ !!!!!!! ((()))"),
        ("punct_unicode", "em—dash en–dash ‐ ‑ ‒ ― “double” ‘single’ ‚low„ «guillemets» ‹single›"),
        ("punct_misc", "§ ¶ † ‡ • ‣ … ‰ ‱ ′ ″ ‴ ※ ‼ ⁇ ⁈ ⁉ ¿ ¡ · ‿ ⁀ ﹏ ⸺ ⸻ ⹂"),
        ("punct_symbols_not_punct", "$5 + 3 = 8 < 9 > 7 ^ 2 | x ` ~"),
        ("math_symbols", "∀x∈ℝ: x² ≥ 0 ∑ ∫ √ ∞ ≠ ≤ ≥ ± × ÷ ∂ ∇ ∧ ∨ ¬ ⊂ ⊆ ∪ ∩ ∅ ℵ 𝔸 𝕏 𝒜 𝓩"),
        ("currency", "€100 £50 ¥1000 ₹500 ₿0.1 ¢ ₩ ₽ ₺ $"),
        ("symbols", "© ® ™ ℗ ℠ ° ← → ↑ ↓ ⇒ ⇔ ♠ ♣ ♥ ♦ ♪ ♫ ☐ ☑ ✓ ✗"),
        ("letterlike", "ℌ ℑ ℜ ℭ Ⅻ ⅻ ℃ ℉ Ω K Å ﬁ ﬂ ﬀ ﬃ Ǆ ǅ ǆ Ǳ ǲ ǳ"),
        ("private_use", "\ue000 \uf8ff x\ue123y \U000f0000 \U00100000 \U0010fffd"),
        ("unassigned", "\u0378 \u0379 \u0380 \u2fff \u31e4 \U000e0080 \U0003134b \U0001faff \U0002fe00 \U00040000"),
        ("noncharacters", "\ufdd0 \ufffe \uffff \U0001fffe \U0010ffff"),
        ("marks_ordered", "a\u0316\u0301 e\u0323\u0308 o\u031b\u0301"),
        ("marks_unordered", "a\u0301\u0316 e\u0308\u0323 o\u0301\u031b q\u0307\u0323\u0300"),
        ("marks_leading", "\u0301abc \u0308 \u0300\u0301 x"),
        ("marks_stacked", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a"
                          "\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0346"
                          "\u0367\u0348\u0356G\u0311\u0357\u030e\u0305\u031b\u0341\u0334\u033b\u0348\u034d\u0354"),
        ("marks_on_cjk", "中\u0301 文\u0308\u0323 한\u0301"),
        ("marks_precomposed_plus", "é\u0316 ǖ\u0323 ấ\u0328 Å\u0301"),
        ("marks_musical", "\U0001d15e\U0001d15f\U0001d160 x\U0001d16d\U0001d165 y\U0001d165\U0001d16d"
                          " z\U0001d16d\u0941\U0001d165"),
        ("marks_removed_between", "x\U0001d16d\x00\U0001d165 y\U0001d16d\u200b\U0001d165 z\U0001d16d\x01\U0001d165"
                                  " w\U0001d16d\ufffd\U0001d165 v\U0001d16d \U0001d165"),
        ("marks_mc_with_class", "\u302e\u302f 가\u302f\u302e\u0301 \U00016ff0\U00016ff1 \u0f71\u0f72\u0f74"),
        ("marks_indic_nukta", "\u0915\u093c\u094d\u0937 \u0915\u094d\u093c\u0937 \u0928\u093c"),
        ("marks_hebrew_points", "\u05e9\u05c1\u05bc \u05e9\u05bc\u05c1 \u05d1\u05b0\u05bc"),
        ("marks_enclosing", "a\u20dd b\u20de c\u20e3 1\u20e3"),
        ("marks_cgj", "a\u034f\u0301 a\u0301\u034f\u0316"),
        ("decompose_hangul_jamo_mix", "각\u11a8 가\u11a8 \u1100\u1161\u11a8"),
        ("ligatures_compat", "ﬁnance ﬂow Ǆemal ǲ ŉ ſ ẛ ǰ ΐ"),
        ("special_tokens_in_text", "[CLS] hello [SEP] world [MASK] [PAD] [UNK]"),
        ("special_tokens_adjacent", "x[MASK]y[SEP][SEP]z [CLS"),
        ("special_tokens_lowercase", "[cls] [Mask] [ mask ] [MASK ]"),
        ("word_99", "a" * 99),
        ("word_100", "a" * 100),
        ("word_101", "a" * 101),
        ("word_300", "b" * 300),
        ("word_100_accented", "é" * 100),
        ("word_101_accented", "é" * 101),
        ("word_100_dotted_i", "İ" * 100),
        ("word_101_after_nul", "a" * 100 + "\x00" + "a"),
        ("word_100_plus_marks", "a" * 99 + "\u0301\u0301"),
        ("word_long_real", "Pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious"),
        ("word_unknown_pieces", "xqzjv qqqqq zzzzzzzz ᚠᛇᚻ ꦲꦤꦕꦫꦏ"),
        ("mixed_scripts_word", "abcабвαβγ日本abc"),
    ]
    return inputs


def long_inputs():
    rng = random.Random(7)
    words = PROSE.split()
    long_prose = " ".join(rng.choice(words) for _ in range(700))
    mixed = " ".join(rng.choice(["naïve", "Größe", "東京", "😀", "Ελλάδα", "[MASK]", "x\u0301", "\x00", "C++",
                                 "don't", "e-mail", "42", "…", "İ"]) for _ in range(450))
    return [
        ("long_prose", long_prose),
        ("long_mixed", mixed),
        ("long_code", (CODE_CPP + CODE_PYTHON + CODE_RUST + CODE_JS) * 3),
        ("long_cjk", "语义搜索很有用" * 120),
        ("pieces_253", "word " * 253),
        ("pieces_254", "word " * 254),
        ("pieces_255", "word " * 255),
        ("pieces_510", "word " * 510),
        ("pieces_511", "word " * 511),
        ("pieces_split_at_cut", "go " * 253 + "unaffable " * 4),
        ("long_single_word", "x" * 5000),
    ]


def random_inputs(count, seed):
    rng = random.Random(seed)
    ranges = {
        "ascii": [(0x20, 0x7e)],
        "latin": [(0xc0, 0x24f), (0x1e00, 0x1eff)],
        "marks": [(0x300, 0x36f), (0x1ab0, 0x1aff), (0x1dc0, 0x1dff), (0x20d0, 0x20ff)],
        "greek_cyrillic": [(0x370, 0x3ff), (0x400, 0x52f), (0x1f00, 0x1fff)],
        "rtl": [(0x590, 0x5ff), (0x600, 0x6ff)],
        "indic_thai": [(0x900, 0x97f), (0x980, 0x9ff), (0xe00, 0xe7f)],
        "hangul": [(0xac00, 0xd7a3), (0x1100, 0x11ff), (0x3130, 0x318f)],
        "cjk": [(0x4e00, 0x9fff), (0x3400, 0x4dbf), (0x20000, 0x2a6df), (0xf900, 0xfaff), (0x3000, 0x30ff)],
        "emoji": [(0x1f300, 0x1faff), (0x2600, 0x27bf), (0x1f1e6, 0x1f1ff), (0x1f3fb, 0x1f3ff)],
        "punct": [(0x2000, 0x206f), (0x21, 0x2f), (0x3a, 0x40), (0x2e00, 0x2e7f), (0xfe30, 0xfe6f)],
        "space_control": [(0x0, 0x20), (0x7f, 0xa0), (0x2000, 0x200f), (0x2028, 0x202f), (0xfff9, 0xfffd)],
        "symbols": [(0x2100, 0x23ff), (0x2a00, 0x2aff), (0x1d400, 0x1d7ff), (0xff00, 0xffef)],
        "anything": [(0x0, 0xd7ff), (0xe000, 0x10ffff)],
    }
    inputs = []
    for i in range(count):
        scripts = rng.sample(sorted(ranges), rng.randint(1, 4))
        length = rng.choice([1, 2, 5, 10, 20, 40, 80])
        chars = []
        for _ in range(length):
            lo, hi = rng.choice(ranges[rng.choice(scripts)])
            chars.append(chr(rng.randint(lo, hi)))
            if rng.random() < 0.15:
                chars.append(" ")
        inputs.append((f"random_{i:03d}_{'+'.join(scripts)}", "".join(chars)))
    return inputs


INVALID_UTF8 = [
    ("invalid_ff", b"abc\xffdef"),
    ("invalid_bad_continuation", b"\xc3\x28 caf\xc3\xa9"),
    ("invalid_truncated_3", b"price \xe2\x82 euro"),
    ("invalid_truncated_end", b"caf\xc3"),
    ("invalid_surrogate", b"x\xed\xa0\x80y \xed\xbf\xbf"),
    ("invalid_above_max", b"\xf4\x90\x80\x80 big"),
    ("invalid_overlong", b"\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf slash"),
    ("invalid_stray_continuations", b"\x80\x80hello\xbf world"),
    ("invalid_truncated_emoji", b"ok \xf0\x9f\x98 bad emoji \xf0\x9f\x98\x80"),
    ("invalid_fe_ff", b"\xfe\xff BOM-ish \xef\xbb\xbf real BOM"),
    ("invalid_latin1", "Fran\u00e7ais \u00e9t\u00e9 na\u00efve".encode("latin-1")),
    ("invalid_mixed_word", b"ab\xe2\x82cd\xc3\xa9ef\x80gh"),
]


def mark_heavy_inputs(count, seed):
    """Short strings dense in combining marks, decomposable letters and case pairs: the cases where NFD's
    canonical reordering and lowercase expansion show, which the ids alone cannot (such words are [UNK])."""
    rng = random.Random(seed)
    pools = [
        [0x301, 0x316, 0x323, 0x308, 0x31b, 0x345, 0x334, 0x5bc, 0x5c1, 0x93c, 0x94d, 0x941, 0xe48, 0xf71, 0xf72,
         0x302e, 0x302f, 0x3099, 0x1d165, 0x1d16d, 0x1d16e, 0x16ff0, 0x16ff1, 0x20d0, 0x20dd, 0x34f, 0x1dc0],
        [0xc0, 0xe9, 0x1ea5, 0x1f82, 0x1d160, 0x1d15e, 0x130, 0x1e9e, 0xac00, 0xac01, 0xf900, 0x2f800, 0x212b,
         0x2126, 0x390, 0x1ff3, 0x1fbc],
        [0x41, 0x49, 0x53, 0x61, 0x69, 0x3a3, 0x3c2, 0x10400, 0x1e900, 0x24b6, 0xff21, 0x1c89],
        [0x20, 0x0, 0x9, 0xad, 0x200b, 0x3000, 0x4e2d, 0x2c, 0x300c, 0xfffd],
    ]
    return [(f"marks_random_{i:03d}", "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(2, 10))))
            for i in range(count)]


NORMALIZER_SETTINGS = [(clean, chinese, strip, lower) for clean, chinese in ((True, True), (False, False))
                       for strip in (True, False) for lower in (True, False)]


def setting_key(clean, chinese, strip, lower):
    return "".join(f"{flag}{int(on)}" for flag, on in zip("chsl", (clean, chinese, strip, lower)))


def write_normalizer_golden(path, cases):
    """normalizer.jsonl: per input, BertNormalizer(...).normalize_str in 8 settings, keyed c<clean>h<chinese>
    s<strip_accents>l<lowercase> (left out when it equals the input), and BertPreTokenizer's words of the input."""
    normalizers_by_key = {setting_key(*s): tokenizers.normalizers.BertNormalizer(
        clean_text=s[0], handle_chinese_chars=s[1], strip_accents=s[2], lowercase=s[3]) for s in NORMALIZER_SETTINGS}
    pretok = tokenizers.pre_tokenizers.BertPreTokenizer()
    lines = []
    for name, text in cases:
        record = {"name": name, "text": text}
        record.update({key: out for key, n in normalizers_by_key.items() if (out := n.normalize_str(text)) != text})
        record["words"] = [w for w, _ in pretok.pre_tokenize_str(text)]
        lines.append(json.dumps(record, ensure_ascii=True))
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


def variant_tokenizer(config, overrides):
    edited = json.loads(json.dumps(config))
    edited["normalizer"].update(overrides)
    return Tokenizer.from_str(json.dumps(edited))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default=os.environ.get("LEANN_TEST_MODEL_DIR", DEFAULT_MODEL))
    parser.add_argument("--out", default=os.path.join(HERE, "golden.jsonl"))
    args = parser.parse_args()

    with open(os.path.join(args.model_dir, "tokenizer.json"), encoding="utf-8") as f:
        config = json.load(f)
    base = Tokenizer.from_str(json.dumps(config))
    base.no_padding()
    base.no_truncation()
    variants = {name: variant_tokenizer(config, overrides) for name, overrides in VARIANTS.items()}
    for tok in variants.values():
        tok.no_padding()
        tok.no_truncation()

    cases = [(name, text, None) for name, text in hand_written() + long_inputs() + random_inputs(150, 20240611)]
    cases += [(name, raw.decode("utf-8", errors="replace"), raw) for name, raw in INVALID_UTF8]
    names = [name for name, _, _ in cases]
    assert len(names) == len(set(names)), "duplicate input names"

    lines = []
    truncated = {256: 0, 512: 0}
    for name, text, raw in cases:
        record = {"name": name}
        if raw is not None:
            assert raw.decode("utf-8", errors="replace") == text
            record["hex"] = raw.hex()
        else:
            record["text"] = text
        ids = base.encode(text).ids
        record["uncased"] = ids
        for limit in (256, 512):
            base.enable_truncation(max_length=limit)
            cut = base.encode(text).ids
            base.no_truncation()
            assert len(cut) <= limit and (cut == ids or len(ids) > limit)
            if cut != ids:
                record[f"uncased_{limit}"] = cut
                truncated[limit] += 1
        for vname, tok in variants.items():
            record[vname] = tok.encode(text).ids
        lines.append(json.dumps(record, ensure_ascii=True))

    with open(args.out, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    short = [(name, text) for name, text, raw in cases
             if raw is None and len(text) <= 120 and not name.startswith("random_")]
    normalizer_out = os.path.join(os.path.dirname(args.out), "normalizer.jsonl")
    n_normalizer = write_normalizer_golden(normalizer_out, short + mark_heavy_inputs(200, 99))
    print(f"{n_normalizer} inputs x {len(NORMALIZER_SETTINGS)} settings -> {normalizer_out} "
          f"({os.path.getsize(normalizer_out)} bytes)")
    print(f"tokenizers {tokenizers.__version__}: {len(lines)} inputs ({len(INVALID_UTF8)} with invalid UTF-8), "
          f"{truncated[256]} cut at 256, {truncated[512]} at 512 -> {args.out} "
          f"({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
