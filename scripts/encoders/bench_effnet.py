"""The reference side of the image encoder benchmark: EfficientNet-Lite0 in PyTorch
(`effnet_reference.py`: the same network and preprocessing, Pillow decoding and
resizing) embeds every image file of a folder at a batch size, then the same network
exported by torch to an fp32 ONNX graph runs in ONNX Runtime (same threads, same
preprocessing); prints images per second for each.

    python bench_effnet.py WEIGHTS.pth IMAGE_DIR [BATCH] [REPS]
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
import effnet_reference as ref  # noqa: E402
from ort_session import cpu_session  # noqa: E402


def embed_all(sd, paths, batch):
    out = []
    for i in range(0, len(paths), batch):
        images = torch.stack([ref.load_image(p) for p in paths[i:i + batch]])
        feats = ref.features(sd, images)
        out.append(feats / feats.norm(dim=1, keepdim=True))
    return torch.cat(out).numpy()


class Features(torch.nn.Module):
    def __init__(self, sd):
        super().__init__()
        self.sd = sd

    def forward(self, images):
        return ref.features(self.sd, images)


def onnx_embedder(sd, batch, threads, folder):
    path = os.path.join(folder, "effnet.onnx")
    sample = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(Features(sd), (sample,), path, input_names=["images"],
                      output_names=["features"], dynamic_axes={"images": {0: "batch"}},
                      opset_version=17, dynamo=False)
    session = cpu_session(path, threads)

    def embed(paths):
        out = []
        for i in range(0, len(paths), batch):
            images = torch.stack([ref.load_image(p) for p in paths[i:i + batch]]).numpy()
            feats = session.run(["features"], {"images": images})[0]
            out.append(feats / np.linalg.norm(feats, axis=1, keepdims=True))
        return np.concatenate(out)

    return embed


def main():
    torch.set_grad_enabled(False)
    weights, folder = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    sd = torch.load(weights, map_location="cpu", weights_only=True)
    paths = sorted(str(p) for p in pathlib.Path(folder).iterdir())
    threads = torch.get_num_threads()

    def timed(embed):
        embed(paths[:batch])
        started = time.perf_counter()
        for _ in range(reps):
            out = embed(paths)
        return len(paths) * reps / (time.perf_counter() - started), out

    rate, eager = timed(lambda p: embed_all(sd, p, batch))
    print(f"pytorch effnet: {rate:.1f} images/s (batch {batch}, torch {torch.__version__}, {threads} threads)")
    with tempfile.TemporaryDirectory() as folder:
        rate, onnx = timed(onnx_embedder(sd, batch, threads, folder))
    agree = float(np.min(np.sum(eager * onnx, axis=1)))
    print(f"onnxruntime effnet: {rate:.1f} images/s (batch {batch}, onnxruntime {ort.__version__}, {threads} threads; lowest cosine to pytorch {agree:.6f})")


if __name__ == "__main__":
    main()
