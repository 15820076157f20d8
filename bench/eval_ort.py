# The ONNX Runtime CPU peer of bench/eval.ts for machines without Node (the lent GPU machine has
# Python's onnxruntime, the same native library as onnxruntime-node): tokens per second of one forward
# pass over the same token ids, best of --runs. Prints one JSON object {"tokensPerSecond": {"1024": ...}}.
#   python3 bench/eval_ort.py MODEL.onnx --lengths 1024,4096 --runs 1 --vocab 4096
import argparse
import json
import time

import numpy as np
import onnxruntime as ort

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("--lengths", default="1024,4096")
ap.add_argument("--runs", type=int, default=1)
ap.add_argument("--vocab", type=int, required=True)
a = ap.parse_args()
session = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])


def tokens_per_second(n: int) -> float:
    # Same ids as bench/eval.ts: (i * 7919 + 13) mod vocab.
    ids = ((np.arange(n, dtype=np.int64) * 7919 + 13) % a.vocab).reshape(1, n)
    feeds = {"input_ids": ids, "position_ids": np.arange(n, dtype=np.int64).reshape(1, n)}
    best = float("inf")
    for _ in range(a.runs):
        t0 = time.perf_counter()
        session.run(None, feeds)
        best = min(best, time.perf_counter() - t0)
    return n / best


tokens_per_second(64)  # graph warm-up, as bench/eval.ts does
print(json.dumps({"onnxruntime": ort.__version__, "tokensPerSecond": {str(n): tokens_per_second(n) for n in map(int, a.lengths.split(","))}}))
