"""The reference side of the CLIP benchmark: transformers' CLIPModel (PyTorch eager,
CPU) on the same texts and image files, as a user would run it (CLIPTokenizer with
padding, CLIPImageProcessorPil with decoding in the timing, get_text_features /
get_image_features, L2 normalisation; texts longest first like Quiver). Prints texts/s
and images/s at torch's default thread count (the machine's cores).

    python bench_clip.py --write MODEL_DIR      # a random ViT-B/32 CLIPModel, seed 0
    python bench_clip.py MODEL_DIR TEXTS_FILE IMAGES_DIR [BATCH] [REPS]
"""

import pathlib
import sys
import time

import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from clip_reference import clip_vocab_and_merges  # noqa: E402


def write(folder):
    """transformers' default CLIPConfig is the ViT-B/32 layout (text 512 wide, 8
    heads, 12 layers; vision 768 wide, 12 heads, 12 layers, patch 32; projection 512)."""
    torch.manual_seed(0)
    CLIPModel(CLIPConfig()).eval().save_pretrained(folder, safe_serialization=True)


def timed(run, count, reps):
    run()
    started = time.perf_counter()
    for _ in range(reps):
        run()
    return count * reps / (time.perf_counter() - started)


def main():
    if sys.argv[1] == "--write":
        write(sys.argv[2])
        return
    folder, texts_file, images_dir = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    model = CLIPModel.from_pretrained(folder).eval()
    vocab, merges = clip_vocab_and_merges()
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges)
    processor = CLIPImageProcessorPil(size={"shortest_edge": 224}, crop_size=224)
    texts = pathlib.Path(texts_file).read_text().splitlines()
    texts.sort(key=len, reverse=True)
    images = sorted(pathlib.Path(images_dir).iterdir())

    @torch.no_grad()
    def encode_texts():
        for start in range(0, len(texts), batch):
            enc = tokenizer(texts[start:start + batch], padding=True, truncation=True,
                            max_length=77, return_tensors="pt")
            v = model.get_text_features(**enc)
            v = getattr(v, "pooler_output", v)
            torch.nn.functional.normalize(v, dim=-1)

    @torch.no_grad()
    def encode_images():
        for start in range(0, len(images), batch):
            pics = [Image.open(p).convert("RGB") for p in images[start:start + batch]]
            pixels = processor(images=pics, return_tensors="pt")["pixel_values"]
            v = model.get_image_features(pixel_values=pixels)
            v = getattr(v, "pooler_output", v)
            torch.nn.functional.normalize(v, dim=-1)

    threads = torch.get_num_threads()
    t = timed(encode_texts, len(texts), reps)
    i = timed(encode_images, len(images), reps)
    print(f"transformers clip: {t:.1f} texts/s, {i:.1f} images/s (batch {batch}, torch {torch.__version__}, {threads} threads)")


if __name__ == "__main__":
    main()
