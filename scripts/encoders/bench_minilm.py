"""The reference side of the encoder benchmark: sentence-transformers (PyTorch, CPU)
embeds every line of a file at a batch size; prints texts per second.

    python bench_minilm.py TEXTS_FILE [BATCH] [REPS]
"""

import os
import pathlib
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

MODELS = pathlib.Path(os.environ.get("QUIVER_MODELS", pathlib.Path.home() / ".cache/quiver/models"))


def main():
    path, batch, reps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32, int(sys.argv[3]) if len(sys.argv) > 3 else 1
    texts = pathlib.Path(path).read_text().splitlines()
    model = SentenceTransformer(str(MODELS / "all-MiniLM-L6-v2"), device="cpu")
    model.encode(texts[:batch], batch_size=batch)
    started = time.perf_counter()
    for _ in range(reps):
        model.encode(texts, batch_size=batch)
    rate = len(texts) * reps / (time.perf_counter() - started)
    print(f"sentence-transformers minilm: {rate:.1f} texts/s (batch {batch}, torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
