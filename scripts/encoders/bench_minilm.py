"""The reference side of the encoder benchmark: the same MiniLM weights run by
sentence-transformers (PyTorch eager, CPU) and by ONNX Runtime (an fp32 graph that
torch exports from the same model; the tokenizer, longest-first batching, mean pooling
and normalisation done as sentence-transformers does them); prints texts per second
for each. Both use the same thread count (torch's default: the machine's cores).

    python bench_minilm.py TEXTS_FILE [BATCH] [REPS]
"""

import os
import pathlib
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from ort_session import cpu_session  # noqa: E402
from sentence_transformers import SentenceTransformer

MODELS = pathlib.Path(os.environ.get("QUIVER_MODELS", pathlib.Path.home() / ".cache/quiver/models"))


def timed(encode, texts, batch, reps):
    encode(texts[:batch])
    started = time.perf_counter()
    for _ in range(reps):
        out = encode(texts)
    return len(texts) * reps / (time.perf_counter() - started), out


def onnx_encoder(model, batch, threads, folder):
    """sentence-transformers' pipeline with the transformer exported to ONNX."""
    tokenizer, bert = model.tokenizer, model[0].auto_model.eval()
    max_len = model.max_seq_length
    path = os.path.join(folder, "minilm.onnx")
    sample = tokenizer(["an example text"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["hidden"] = {0: "batch", 1: "tokens"}
    class LastHidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(LastHidden(bert), tuple(sample[n] for n in names), path,
                          input_names=names, output_names=["hidden"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    session = cpu_session(path, threads)

    def encode(texts):
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = [None] * len(texts)
        for start in range(0, len(texts), batch):
            idx = order[start:start + batch]
            enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                            max_length=max_len, return_tensors="np")
            feed = {n: enc[n].astype(np.int64) for n in names}
            hidden = session.run(["hidden"], feed)[0]
            mask = feed["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for i, v in zip(idx, pooled):
                out[i] = v
        return np.stack(out)

    return encode


def main():
    path = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    texts = pathlib.Path(path).read_text().splitlines()
    model = SentenceTransformer(str(MODELS / "all-MiniLM-L6-v2"), device="cpu")
    threads = torch.get_num_threads()
    rate, st = timed(lambda t: model.encode(t, batch_size=batch), texts, batch, reps)
    print(f"sentence-transformers minilm: {rate:.1f} texts/s (batch {batch}, torch {torch.__version__}, {threads} threads)")
    with tempfile.TemporaryDirectory() as folder:
        rate, ox = timed(onnx_encoder(model, batch, threads, folder), texts, batch, reps)
    agree = float(np.min(np.sum(st * ox, axis=1)))
    print(f"onnxruntime minilm: {rate:.1f} texts/s (batch {batch}, onnxruntime {ort.__version__}, {threads} threads; lowest cosine to sentence-transformers {agree:.6f})")


if __name__ == "__main__":
    main()
