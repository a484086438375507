"""Writes the CLIP parity fixtures for engine/encode/tests/models/clip.rs:

- tests/fixtures/clip-tiny/: a SMALL randomly initialised Hugging Face CLIPModel
  (ViT-B/32 layout: patch 32, image 224, quick_gelu, CLIP's 49408-token vocabulary;
  but 32 wide, 2 layers, 2 heads, projection 16; the vision tower initialised at 3x scale; seed 0), stored in float16 to stay
  small. The reference vectors below come from these same fp16-rounded weights run in
  float32, which is what Quiver does with them.
- tests/fixtures/images/clip_*.png|jpg: three deterministic images (an RGB gradient
  with shapes that is upscaled, a small JPEG portrait, a greyscale PNG that is
  downscaled).
- tests/fixtures/clip_reference.json: for each fixture text the token ids of
  transformers' CLIPTokenizer (vocabulary and merges built from OpenAI's merges file the
  way CLIP does) and the text vector; for each image the vector after
  CLIPImageProcessorPil (PIL bicubic, as OpenAI's CLIP; transformers' default
  torchvision backend resizes differently); all from transformers' CLIPModel
  (get_text_features / get_image_features, then L2-normalised).

Needs the merges file that scripts/fetch-models installs ($QUIVER_MODELS/clip-bpe) and a
scratch virtual environment (nothing here downloads model weights):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch transformers pillow numpy
    scripts/fetch-models && /tmp/ref/bin/python scripts/encoders/clip_reference.py

The fixtures are committed; this script only regenerates them.
"""

import json
import os
import pathlib
import shutil

import numpy as np
import torch
import transformers
from PIL import Image, ImageDraw
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

MODELS = pathlib.Path(os.environ.get("QUIVER_MODELS", pathlib.Path.home() / ".cache/quiver/models"))
MERGES = MODELS / "clip-bpe" / "bpe_simple_vocab_16e6.txt"
FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "engine/encode/tests/fixtures"
MODEL_DIR = FIXTURES / "clip-tiny"
IMAGE_DIR = FIXTURES / "images"
OUT = FIXTURES / "clip_reference.json"

LONG = " ".join(
    f"Item {i}: a hand-made ceramic mug with a speckled glaze, dishwasher safe, 350 ml."
    for i in range(12)
)

TEXTS = [
    "a photo of a cat",
    "A PHOTO   of a\tDog!!",
    "It's a café in Zürich — naïve façade, crème brûlée.",
    "東京の夜景、とても綺麗です。",
    "赤い靴 and 红色的鞋",
    "price: $19.99 (was $25); 3x faster?!... #deal @shop",
    "don't, won't, they'll, I'm, we've, she'd",
    "",
    "x",
    "  leading and trailing spaces  ",
    LONG,
]


def clip_vocab_and_merges():
    """CLIP's vocabulary, as OpenAI's SimpleTokenizer builds it from the merges file."""
    lines = MERGES.read_text(encoding="utf-8").split("\n")
    merges = [tuple(m.split(" ")) for m in lines[1 : 49152 - 256 - 2 + 1]]
    assert all(len(m) == 2 for m in merges)
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_symbols = [chr(c) for c in cs]
    vocab = byte_symbols + [s + "</w>" for s in byte_symbols]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408, len(vocab)
    return {t: i for i, t in enumerate(vocab)}, merges


def write_images():
    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    # 300x200 RGB: gradient with shapes, shortest side 200 -> upscaled to 224.
    x = np.linspace(0, 1, 300)[None, :]
    y = np.linspace(0, 1, 200)[:, None]
    rgb = np.stack([255 * x * np.ones_like(y), 255 * y * np.ones_like(x), 255 * (1 - x) * y], axis=-1)
    img = Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((40, 30, 140, 130), fill=(250, 200, 20))
    d.rectangle((170, 60, 260, 170), fill=(20, 40, 200))
    d.line((0, 199, 299, 0), fill=(255, 255, 255), width=5)
    img.save(IMAGE_DIR / "clip_gradient.png")
    # 64x96 portrait JPEG, upscaled 3.5x.
    x = np.linspace(0, 1, 64)[None, :]
    y = np.linspace(0, 1, 96)[:, None]
    rgb = np.stack([200 * y * np.ones_like(x), 120 + 100 * x * np.ones_like(y), 60 + 150 * x * y], axis=-1)
    img = Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse((16, 20, 48, 60), fill=(230, 180, 150))
    d.rectangle((10, 66, 54, 95), fill=(30, 30, 90))
    img.save(IMAGE_DIR / "clip_portrait.jpg", quality=90)
    # 500x400 greyscale PNG: rings and stripes, shortest side 400 -> downscaled to 224.
    yy, xx = np.mgrid[0:400, 0:500]
    r = np.hypot(xx - 250, yy - 200)
    grey = 127.5 + 127.5 * np.sin(r / 9.0) * np.cos(xx / 37.0)
    img = Image.fromarray(grey.round().astype(np.uint8), "L")
    ImageDraw.Draw(img).rectangle((30, 30, 120, 90), fill=255)
    img.save(IMAGE_DIR / "clip_grey.png")
    return ["clip_gradient.png", "clip_portrait.jpg", "clip_grey.png"]


def write_model():
    torch.manual_seed(0)
    common = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, hidden_act="quick_gelu")
    config = CLIPConfig(
        text_config=dict(vocab_size=49408, max_position_embeddings=77, **common),
        # At the default scale a 2-layer tower barely mixes the patches into the class
        # token (different images gave cosine 0.997 to each other); 3x makes them differ.
        vision_config=dict(image_size=224, patch_size=32, num_channels=3, initializer_factor=3.0, **common),
        projection_dim=16,
    )
    model = CLIPModel(config).half()
    if MODEL_DIR.exists():
        shutil.rmtree(MODEL_DIR)
    model.save_pretrained(MODEL_DIR, safe_serialization=True)
    for extra in MODEL_DIR.iterdir():
        if extra.name not in ("config.json", "model.safetensors"):
            extra.unlink()


def unit(t):
    return torch.nn.functional.normalize(t.float(), dim=-1)


def max_pairwise_cosine(vectors):
    v = unit(torch.tensor(vectors))
    sims = v @ v.T - 2 * torch.eye(len(vectors))
    return float(sims.max())


def main():
    vocab, merges = clip_vocab_and_merges()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    images = write_images()
    write_model()
    model = CLIPModel.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()
    processor = CLIPImageProcessorPil()

    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=77, return_tensors="pt")
    token_ids = [ids[mask.bool()].tolist() for ids, mask in zip(batch["input_ids"], batch["attention_mask"])]
    pixels = processor(images=[Image.open(IMAGE_DIR / n) for n in images], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        text_vectors = unit(model.get_text_features(**batch).pooler_output)
        image_vectors = unit(model.get_image_features(pixel_values=pixels).pooler_output)

    text_vectors, image_vectors = text_vectors.tolist(), image_vectors.tolist()
    OUT.write_text(
        json.dumps(
            {
                "model": "random CLIPModel (ViT-B/32 layout, 32 wide, 2 layers, projection 16, seed 0, fp16 weights) in tests/fixtures/clip-tiny",
                "reference": f"transformers {transformers.__version__} (CLIPTokenizer, CLIPImageProcessorPil, CLIPModel) on PyTorch {torch.__version__}, CPU, float32",
                "texts": TEXTS,
                "token_ids": token_ids,
                "text_vectors": [[round(x, 7) for x in v] for v in text_vectors],
                "images": images,
                "pixel_sums": [round(float(p.sum()), 3) for p in pixels],
                "image_vectors": [[round(x, 7) for x in v] for v in image_vectors],
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"wrote {OUT}: {len(TEXTS)} texts (longest {max(map(len, token_ids))} tokens), {len(images)} images")
    # The parity check means something only if the fixtures' vectors differ.
    print(f"max cosine between different texts {max_pairwise_cosine(text_vectors):.4f}, images {max_pairwise_cosine(image_vectors):.4f}")


if __name__ == "__main__":
    main()
