"""Hybrid text+image "more like this" recommender: load items with two vector columns,
fused item-to-item search, then pick the text/image weight by NDCG@10.

    python hybrid_recommender.py [items.npz]   # ids, labels, text (n, dt), image (n, di)

Without a file it makes a catalogue whose text and image vectors each carry its
category's signal, blurred differently, so neither column alone is best."""
import sys, tempfile
import numpy as np
import quiver

if len(sys.argv) > 1:
    f = np.load(sys.argv[1])
    ids, labels, text, image = list(f["ids"]), list(f["labels"]), f["text"], f["image"]
else:
    rng = np.random.default_rng(0)
    labels = list(rng.integers(0, 40, 2000))
    ids = [f"item{i}" for i in range(2000)]
    def column(dim, blur):
        centres = rng.standard_normal((40, dim))
        return (centres[labels] + blur * rng.standard_normal((2000, dim))).astype(np.float32)
    text, image = column(64, 3.0), column(128, 3.6)

with quiver.connect(tempfile.mkdtemp() + "/shop.quiver") as db:
    items = db.create_collection("items", {"label": "TEXT",
        "text_vec": f"VECTOR({text.shape[1]}) COSINE", "image_vec": f"VECTOR({image.shape[1]}) COSINE"})
    items.insert_many({"id": ids, "label": [str(l) for l in labels], "text_vec": text, "image_vec": image})
    items.flush()
    items.create_index("text_vec")
    items.create_index("image_vec")
    print("like", ids[0], "->", items.search_like(ids[0], ["text_vec", "image_vec"], k=5).ids)

    # Labelled queries: every 10th item; relevant = the other items of its label.
    by_label = {}
    for i, l in zip(ids, labels):
        by_label.setdefault(l, []).append(i)
    queries = [{"qid": i, "query_item": i, "qrels": {j: 1 for j in by_label[l] if j != i}}
               for i, l in list(zip(ids, labels))[::10]]
    best = None
    for alpha in np.round(np.arange(0, 1.01, 0.1), 1):
        fusion = f"WEIGHTED({alpha}, {1 - alpha:.1f})"
        ndcg = items.evaluate(queries, ["text_vec", "image_vec"], k=10, fusion=fusion).overall.ndcg
        print(f"alpha {alpha:.1f}  NDCG@10 {ndcg:.4f}")
        best = max(best or (ndcg, alpha), (ndcg, alpha))
    print(f"best alpha {best[1]:.1f} (text weight), NDCG@10 {best[0]:.4f}")
