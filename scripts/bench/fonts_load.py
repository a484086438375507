"""Writes the SQL that loads the font benchmark into Quiver (standard library only).

    python3 fonts_load.py DATA_DIR > load.sql

DATA_DIR is what ../shared/bench/mmdata/build_fonts.py wrote (items.jsonl, images/).
Each item becomes a row of `fonts`: its catalogue text (`text_vec` filled by MiniLM
through the EMBED FROM rule) and its glyph sheet (`image_vec` by EfficientNet-Lite0
through EMBED_IMAGE), inserted 64 per statement.
"""
import json
import os
import sys


def quote(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    data = os.path.abspath(sys.argv[1])
    print("CREATE COLLECTION fonts (text TEXT, family TEXT, "
          "text_vec VECTOR(384) COSINE NULL EMBED FROM text USING 'minilm', "
          "image_vec VECTOR(1280) COSINE NULL);")
    with open(os.path.join(data, "items.jsonl")) as fh:
        items = [json.loads(line) for line in fh if line.strip()]
    for start in range(0, len(items), 64):
        rows = []
        for it in items[start:start + 64]:
            family = str(it.get("labels", {}).get("family", ""))
            image = os.path.join(data, it["image"])
            rows.append(f"({quote(it['id'])}, {quote(it['text'])}, {quote(family)}, "
                        f"EMBED_IMAGE('effnet', {quote(image)}))")
        print("INSERT INTO fonts (id, text, family, image_vec) VALUES\n  " + ",\n  ".join(rows) + ";")
    print("FLUSH fonts;")


if __name__ == "__main__":
    main()
