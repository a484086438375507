"""The reference side of the image encoder benchmark: EfficientNet-Lite0 in PyTorch
(`effnet_reference.py`: the same network and preprocessing, Pillow decoding and
resizing) embeds every image file of a folder at a batch size; prints images per
second.

    python bench_effnet.py WEIGHTS.pth IMAGE_DIR [BATCH] [REPS]
"""

import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import effnet_reference as ref  # noqa: E402


def embed_all(sd, paths, batch):
    for i in range(0, len(paths), batch):
        images = torch.stack([ref.load_image(p) for p in paths[i:i + batch]])
        feats = ref.features(sd, images)
        feats / feats.norm(dim=1, keepdim=True)


def main():
    torch.set_grad_enabled(False)
    weights, folder = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    sd = torch.load(weights, map_location="cpu", weights_only=True)
    paths = sorted(str(p) for p in pathlib.Path(folder).iterdir())
    embed_all(sd, paths[:batch], batch)
    started = time.perf_counter()
    for _ in range(reps):
        embed_all(sd, paths, batch)
    rate = len(paths) * reps / (time.perf_counter() - started)
    print(f"pytorch effnet: {rate:.1f} images/s (batch {batch}, torch {torch.__version__}, {torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
