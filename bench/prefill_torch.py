# PyTorch eager prefill of a Llama- or Qwen2-shaped model (its config.json) with random weights on the GPU: the
# peer of bench/prefill.ts in the same call on the lent machine. Embeddings, per layer RMSNorm, Q/K/V (Qwen2's
# biases), RoPE, causal scaled_dot_product_attention over the KV groups, SwiGLU MLP, final norm, LM head on the last
# token; one JSON line per length with tokens/s and torch.cuda.max_memory_allocated.
#   python3 bench/prefill_torch.py <config dir> --lengths 4096,16384,32768 [--dtype float16|float32] [--runs 1]
import argparse, json, os, time
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("config")
ap.add_argument("--lengths", default="4096")
ap.add_argument("--dtype", default="float16")
ap.add_argument("--runs", type=int, default=1)
a = ap.parse_args()
c = json.load(open(os.path.join(a.config, "config.json")))
dt = getattr(torch, a.dtype)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"
H, I, V, n = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["num_hidden_layers"]
heads = c["num_attention_heads"]; kv = c.get("num_key_value_heads", heads); D = c.get("head_dim", H // heads)
bias = c.get("model_type") == "qwen2"
eps = c.get("rms_norm_eps", 1e-6); theta = c.get("rope_theta", 10000.0)
g = torch.Generator(device=dev).manual_seed(0)
rand = lambda *s: (torch.randn(*s, device=dev, dtype=dt, generator=g) * 0.02)
embed = rand(V, H)
head = embed if c.get("tie_word_embeddings", True) else rand(V, H)
layers = [dict(q=rand(heads * D, H), k=rand(kv * D, H), v=rand(kv * D, H), o=rand(H, heads * D), gate=rand(I, H), up=rand(I, H), down=rand(H, I),
               qb=rand(heads * D) if bias else None, kb=rand(kv * D) if bias else None, vb=rand(kv * D) if bias else None) for _ in range(n)]
ones = torch.ones(H, device=dev, dtype=dt)

def rms(x, w):
    return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps)).to(dt) * w

def rope(x, cos, sin):
    x1, x2 = x[..., : D // 2], x[..., D // 2 :]
    return x * cos + torch.cat((-x2, x1), -1) * sin

@torch.inference_mode()
def prefill(ids):
    L = ids.shape[0]
    inv = 1.0 / theta ** (torch.arange(0, D, 2, device=dev, dtype=torch.float32) / D)
    ang = torch.outer(torch.arange(L, device=dev, dtype=torch.float32), inv)
    cos = torch.cat((ang, ang), -1).cos().to(dt); sin = torch.cat((ang, ang), -1).sin().to(dt)
    x = embed[ids]
    for l in layers:
        h = rms(x, ones)
        q = F.linear(h, l["q"], l["qb"]).view(L, heads, D).transpose(0, 1)
        k = F.linear(h, l["k"], l["kb"]).view(L, kv, D).transpose(0, 1)
        v = F.linear(h, l["v"], l["vb"]).view(L, kv, D).transpose(0, 1)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = F.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True, enable_gqa=True)[0]
        x = x + F.linear(att.transpose(0, 1).reshape(L, heads * D), l["o"])
        h = rms(x, ones)
        x = x + F.linear(F.silu(F.linear(h, l["gate"])) * F.linear(h, l["up"]), l["down"])
    return F.linear(rms(x[-1:], ones), head)

prefill(torch.arange(16, device=dev) % 4096)  # kernels loaded before timing
for L in [int(s) for s in a.lengths.split(",")]:
    ids = (torch.arange(L, device=dev) * 7919 + 13) % 4096
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    best = float("inf")
    for _ in range(a.runs):
        t = time.perf_counter(); prefill(ids); torch.cuda.synchronize(); best = min(best, time.perf_counter() - t)
    print(json.dumps({"engine": f"pytorch {torch.__version__} eager {a.dtype}", "model": a.config, "tokens": L, "seconds": round(best, 3),
                      "tokensPerSecond": round(L / best), "peakGiB": round(torch.cuda.max_memory_allocated() / 2**30, 2)}), flush=True)
