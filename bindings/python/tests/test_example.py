"""The hybrid recommender example runs and its alpha grid finds that fusing the two
columns beats either alone on its catalogue."""

import pathlib
import re
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).parents[1] / "examples" / "hybrid_recommender.py"


def test_example_is_short_and_finds_a_fused_optimum():
    assert len(EXAMPLE.read_text().splitlines()) < 50
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    ndcg = {float(a): float(n) for a, n in re.findall(r"alpha (\d\.\d)  NDCG@10 (\d\.\d+)", out)}
    assert len(ndcg) == 11
    best_alpha = float(re.search(r"best alpha (\d\.\d)", out).group(1))
    assert 0.0 < best_alpha < 1.0
    assert ndcg[best_alpha] > max(ndcg[0.0], ndcg[1.0])
    assert re.search(r"like item0 -> \['item\d+'(, 'item\d+'){4}\]", out)
