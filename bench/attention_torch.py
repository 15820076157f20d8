# The PyTorch peer of bench/attention.ts: causal scaled_dot_product_attention with grouped KV heads in
# float32, TF32 off, on CUDA. Best of --reps after a warm-up, timed with CUDA events. Prints one JSON
# object {"device", "torch", "ms": {"8192": ...}}.
#   python3 bench/attention_torch.py --seq 8192,16384 --dim 128 --heads 32 --kv-heads 8 --reps 3
import argparse
import json

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--seq", default="8192,16384")
ap.add_argument("--dim", type=int, default=128)
ap.add_argument("--heads", type=int, default=32)
ap.add_argument("--kv-heads", type=int, default=8)
ap.add_argument("--reps", type=int, default=3)
a = ap.parse_args()

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
gen = torch.Generator(device="cuda").manual_seed(0)
ms = {}
for seq in map(int, a.seq.split(",")):
    q = torch.randn(1, a.heads, seq, a.dim, device="cuda", dtype=torch.float32, generator=gen)
    k = torch.randn(1, a.kv_heads, seq, a.dim, device="cuda", dtype=torch.float32, generator=gen)
    v = torch.randn(1, a.kv_heads, seq, a.dim, device="cuda", dtype=torch.float32, generator=gen)
    run = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    run()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(a.reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end))
    ms[str(seq)] = best
    del q, k, v
    torch.cuda.empty_cache()
print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "ms": ms}))
