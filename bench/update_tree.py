#!/usr/bin/env python3
"""Text tree for bench/run_update_bench.sh, cut from WordNet glosses (Debian `wordnet-base`).

    python3 bench/update_tree.py init  DIR --files N [--per-file 10] [--seed 7]
    python3 bench/update_tree.py edit  DIR --round R     # replace one gloss paragraph of one file
    python3 bench/update_tree.py churn DIR --round R [--share 0.10]   # delete 10% of files, add 10% new
    python3 bench/update_tree.py append DIR --round R    # append one unique sentence to one file

Each .txt file holds --per-file glosses, one per paragraph (blank line between). Glosses are shuffled once
(seeded); DIR/../<name>.state.json remembers the next unused gloss so edits and new files only ever use glosses
not used before. Prints one JSON line describing what it did.
"""
import argparse, json, os, random, sys

FILES = ["data.noun", "data.verb", "data.adj", "data.adv"]


def glosses(seed):
    out = []
    for name in FILES:
        with open(os.path.join("/usr/share/wordnet", name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue
                g = line.rstrip("\n").partition(" | ")[2].strip()
                if g:
                    out.append(g)
    random.Random(seed).shuffle(out)
    return out


def state_path(d):
    return os.path.join(os.path.dirname(os.path.abspath(d)), os.path.basename(os.path.abspath(d)) + ".state.json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op", choices=["init", "edit", "churn", "append"])
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--per-file", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--round", type=int, default=0)
    ap.add_argument("--share", type=float, default=0.10)
    a = ap.parse_args()
    G = glosses(a.seed)
    sp = state_path(a.dir)
    if a.op == "init":
        if a.files * a.per_file > len(G):
            sys.exit(f"{a.files} files x {a.per_file} glosses need more than the {len(G)} WordNet glosses")
        os.makedirs(a.dir, exist_ok=True)
        for n in range(a.files):
            with open(os.path.join(a.dir, f"f{n:05d}.txt"), "w", encoding="utf-8") as f:
                f.write("\n\n".join(G[n * a.per_file:(n + 1) * a.per_file]) + "\n")
        st = {"next": a.files * a.per_file, "next_file": a.files, "per_file": a.per_file, "seed": a.seed}
        json.dump(st, open(sp, "w"))
        print(json.dumps({"op": "init", "files": a.files, "glosses": st["next"], "pool": len(G)}))
        return
    st = json.load(open(sp))
    rng = random.Random(1000 + a.round)
    names = sorted(x for x in os.listdir(a.dir) if x.endswith(".txt"))
    if a.op == "edit":
        name = rng.choice(names)
        p = os.path.join(a.dir, name)
        paras = open(p, encoding="utf-8").read().strip("\n").split("\n\n")
        i = rng.randrange(len(paras))
        paras[i] = G[st["next"]]
        st["next"] += 1
        with open(p, "w", encoding="utf-8") as f:
            f.write("\n\n".join(paras) + "\n")
        print(json.dumps({"op": "edit", "file": name, "paragraph": i}))
    elif a.op == "append":
        name = rng.choice(names)
        with open(os.path.join(a.dir, name), "a", encoding="utf-8") as f:
            f.write(f"\nWatch probe {a.round}: the heron number {a.round * 7919} waded past the lighthouse.\n")
        print(json.dumps({"op": "append", "file": name}))
    else:
        k = max(1, round(len(names) * a.share))
        gone = rng.sample(names, k)
        for x in gone:
            os.remove(os.path.join(a.dir, x))
        for _ in range(k):
            n = st["next_file"]
            st["next_file"] += 1
            with open(os.path.join(a.dir, f"f{n:05d}.txt"), "w", encoding="utf-8") as f:
                f.write("\n\n".join(G[st["next"]:st["next"] + st["per_file"]]) + "\n")
            st["next"] += st["per_file"]
        print(json.dumps({"op": "churn", "deleted": k, "added": k, "files": len(names)}))
    if st["next"] > len(G):
        sys.exit("out of unused glosses")
    json.dump(st, open(sp, "w"))


if __name__ == "__main__":
    main()
