# The PyTorch side of bench/train_step.cpp: the same Llama shapes (built-in "110m": C 768, 12 layers,
# 12 heads, F 2048, V 32000, untied head), one full-FT step and one LoRA (q_proj, v_proj; r 8) step
# with AdamW on 256 random tokens, 2 threads. Not transformers: a plain re-implementation, so only
# Debian's python3-torch is needed.
# Peak RSS is per process: run one method per process for memory (argument 5: full or lora).
# Run: OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_train_step.py
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
T = int(sys.argv[2]) if len(sys.argv) > 2 else 256
STEPS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PRESETS = {"110m": (32000, 768, 2048, 12, 12), "small": (512, 256, 768, 4, 4)}
V, C, FF, L, NH = PRESETS[sys.argv[1] if len(sys.argv) > 1 else "110m"]
KVH = NH if NH == 12 else 2
HD = C // NH


class Lora(nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.empty(r, base.in_features).uniform_(-1 / math.sqrt(base.in_features), 1 / math.sqrt(base.in_features)))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale


class RMSNorm(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w


def rope(x, cos, sin):  # x (B, H, T, HD), rotate-half
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(C), RMSNorm(C)
        self.q, self.k, self.v = nn.Linear(C, NH * HD, bias=False), nn.Linear(C, KVH * HD, bias=False), nn.Linear(C, KVH * HD, bias=False)
        self.o = nn.Linear(NH * HD, C, bias=False)
        self.g, self.u, self.d = nn.Linear(C, FF, bias=False), nn.Linear(C, FF, bias=False), nn.Linear(FF, C, bias=False)

    def forward(self, x, cos, sin):
        B_, T_, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(B_, T_, NH, HD).transpose(1, 2)
        k = self.k(h).view(B_, T_, KVH, HD).transpose(1, 2)
        v = self.v(h).view(B_, T_, KVH, HD).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if KVH != NH:
            k, v = k.repeat_interleave(NH // KVH, 1), v.repeat_interleave(NH // KVH, 1)
        # Debian's torch 1.13 has no scaled_dot_product_attention: the plain (T×T) form.
        s = (q @ k.transpose(-1, -2)) / math.sqrt(HD)
        s = s.masked_fill(torch.ones(T_, T_, dtype=torch.bool).triu(1), float("-inf"))
        a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B_, T_, NH * HD)
        x = x + self.o(a)
        h = self.n2(x)
        return x + self.d(F.silu(self.g(h)) * self.u(h))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, C)
        self.blocks = nn.ModuleList([Block() for _ in range(L)])
        self.norm = RMSNorm(C)
        self.head = nn.Linear(C, V, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, HD, 2).float() / HD))
        ang = torch.outer(torch.arange(T).float(), inv)
        self.cos, self.sin = torch.cat([ang.cos()] * 2, -1)[:, : HD // 2], torch.cat([ang.sin()] * 2, -1)[:, : HD // 2]

    def forward(self, ids):
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, self.cos, self.sin)
        return self.head(self.norm(x))


def bench(method):
    torch.manual_seed(0)
    m = Llama()
    if method == "lora":
        for p in m.parameters():
            p.requires_grad_(False)
        for b in m.blocks:
            b.q, b.v = Lora(b.q), Lora(b.v)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, V, (1, T))
    best = 1e30
    for i in range(STEPS + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = m(ids)
        loss = F.cross_entropy(logits[0, :-1], ids[0, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        print(f"{method} step {i}: {dt:.3f} s", file=sys.stderr)
        if i > 0:
            best = min(best, dt)
    n = sum(p.numel() for p in params)
    return best, n


print("model,method,seq,threads,step_s,tokens_per_s,peak_rss_MiB,trainable_params")
for method in (sys.argv[5].split(",") if len(sys.argv) > 5 else ["full", "lora"]):
    best, n = bench(method)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{sys.argv[1] if len(sys.argv) > 1 else '110m'},{method},{T},{torch.get_num_threads()},{best:.3f},{T / best:.1f},{rss:.1f},{n}")
