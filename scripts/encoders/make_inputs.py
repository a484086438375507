"""The encoder benchmarks' inputs, the same on every run (seed 7):

    python3 make_inputs.py texts FILE     # 1,024 product-like texts of 6-96 words
    python3 make_inputs.py images DIR     # 256 JPEG files, 500x375 (needs Pillow)
"""
import random
import sys


def texts(path):
    random.seed(7)
    words = ("shoe running light red blue serif font bold italic card rare holographic soup "
             "tomato basil recipe video keyframe beach sunset dress cotton summer vintage "
             "leather boot waterproof hiking trail winter mesh rubber outsole design").split()
    with open(path, "w") as f:
        for _ in range(1024):
            n = random.choice([6, 12, 24, 48, 96])
            f.write(" ".join(random.choice(words) for _ in range(n)) + "\n")


def images(folder):
    from PIL import Image, ImageDraw
    random.seed(7)
    for i in range(256):
        img = Image.new("RGB", (500, 375), tuple(random.randrange(256) for _ in range(3)))
        d = ImageDraw.Draw(img)
        for _ in range(12):
            x, y = random.randrange(500), random.randrange(375)
            d.ellipse((x, y, x + random.randrange(20, 200), y + random.randrange(20, 200)),
                      fill=tuple(random.randrange(256) for _ in range(3)))
        img.save(f"{folder}/img{i:03}.jpg", quality=90)


if __name__ == "__main__":
    {"texts": texts, "images": images}[sys.argv[1]](sys.argv[2])
