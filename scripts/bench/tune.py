"""Learned fusion on the font set (scripts/bench/tune.sh runs it): held-out NDCG@10 of
the best single column, the best global alpha, TUNE WEIGHTS and TUNE WEIGHTS PER
LABEL, and the time to tune 1,000+ queries over 3 terms.

    python tune.py DB QUERIES OUT_DIR

DB holds the collection `fonts` (text, text_vec by MiniLM, mpnet_vec by
all-mpnet-base-v2, image_vec by EfficientNet-Lite0, a BM25 index on text), QUERIES
the font set's queries.jsonl. Prints one JSON object per measurement and writes the
per-label plots to OUT_DIR.
"""
import json
import sys
import time

import quiver

FOLDS = 5


def emit(**fields):
    print(json.dumps(fields), flush=True)


def lines(report):
    return {l.label: {"queries": l.queries, "fusion": l.fusion, "normalize": l.normalize,
                      "written": round(l.as_written, 4), "in_sample": round(l.in_sample, 4),
                      "held_out": round(l.held_out, 4)} for l in report.lines}


def main():
    db_path, queries_path, out = sys.argv[1:4]
    with open(queries_path) as fh:
        queries = [json.loads(line) for line in fh if line.strip()]
    items = [q for q in queries if "query_item" in q]
    db = quiver.connect(db_path)
    fonts = db.collection("fonts")
    emit(queries=len(queries), item_queries=len(items))

    # (a) each column alone on the item queries (nothing fitted: in-sample = held out).
    for column, match in (("text_vec", None), ("mpnet_vec", None), ("image_vec", None),
                          (None, "text")):
        r = fonts.evaluate(items, [column] if column else [], k=10, match=match)
        emit(setting="single", column=column or f"MATCH({match})", ndcg=round(r.overall.ndcg, 4),
             by_label={l: round(s.ndcg, 4) for l, s in r.by_label.items()},
             queries=r.overall.queries)

    # (b) the best global alpha between text and image, cross-validated, and
    # (c, d) TUNE WEIGHTS over text, image and BM25, global and per label; then the
    # same with mpnet as a fourth signal (coordinate ascent instead of the full grid).
    runs = [
        ("b: global alpha (text, image)", ["text_vec", "image_vec"], None, False),
        ("b': per-label alpha (text, image)", ["text_vec", "image_vec"], None, True),
        ("c: TUNE WEIGHTS (BM25, text, image)", ["text_vec", "image_vec"], "text", False),
        ("d: TUNE WEIGHTS PER LABEL (BM25, text, image)", ["text_vec", "image_vec"], "text", True),
        ("d4: PER LABEL (BM25, text, mpnet, image)", ["text_vec", "mpnet_vec", "image_vec"], "text", True),
    ]
    for name, columns, match, per_label in runs:
        plot = f"{out}/{name.split(':')[0].strip()}.png"
        started = time.perf_counter()
        r = fonts.tune(items, columns, k=10, match=match, fusion="WEIGHTED(" + ", ".join(
            ["1"] * (len(columns) + (match is not None))) + ")", per_label=per_label, folds=FOLDS,
            plot=plot)
        wall = time.perf_counter() - started
        emit(setting=name, columns=([f"MATCH({match})"] if match else []) + columns,
             lines=lines(r), gather_s=round(r.gather_seconds, 3), fit_s=round(r.fit_seconds, 3),
             wall_s=round(wall, 3))

    # Time to tune every query (text and item) over 3 terms every query reaches: BM25,
    # MiniLM and mpnet (the texts' embedding by both models included in wall_s only).
    for per_label in (False, True):
        started = time.perf_counter()
        r = fonts.tune(queries, ["text_vec", "mpnet_vec"], k=10, match="text",
                       fusion="WEIGHTED(1, 1, 1)", per_label=per_label, folds=FOLDS,
                       save_as="text_signals" + ("_per_label" if per_label else ""))
        wall = time.perf_counter() - started
        emit(setting=f"timing: all queries x 3 terms, per_label={per_label}",
             tuned_queries=r.line("*").queries, skipped=r.line("*").skipped,
             gather_s=round(r.gather_seconds, 3), fit_s=round(r.fit_seconds, 3),
             wall_s=round(wall, 3), lines=lines(r))
    db.close()


if __name__ == "__main__":
    main()
