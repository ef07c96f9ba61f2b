#!/usr/bin/python3
"""One DistilBERT-style distillation training step in plain PyTorch, for comparison with distill4j.

Teacher: 12 layers, hidden 384, 12 heads, FFN 1536 (bge-small-en-v1.5's shape), frozen, eval mode.
Student: 6 layers of the same width, dropout 0.1. Batch 32 x 128 tokens.
Loss: 0.5*CE(hard) + 0.5*T^2*KL(soft, T=2) + (1 - cos) on the last hidden states over real tokens.
AdamW (weight decay 0.01, none on biases and LayerNorm), global-norm clipping at 1.

Usage: python3 scripts/bench/distill_step.py [steps] [cpu|cuda] [fp32|fp16]
  (here: a current PyTorch on 2 threads, from a virtual environment, see step-vs-pytorch.sh;
  on the GPU machine: its own PyTorch, device cuda;
  fp16 = autocast to float16 with a GradScaler, fp32 master weights, as distill4j's fp16.)
Prints the mean and median step time in milliseconds. Weights are random: speed does not depend on them.
"""
import contextlib
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DEVICE = sys.argv[2] if len(sys.argv) > 2 else "cpu"
HALF = (sys.argv[3] if len(sys.argv) > 3 else "fp32") == "fp16"
if DEVICE == "cpu":
    torch.set_num_threads(2)
torch.manual_seed(0)
V, H, HEADS, FFN, SEQ, BATCH = 30522, 384, 12, 1536, 128, 32


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
        self.i, self.out = nn.Linear(H, FFN), nn.Linear(FFN, H)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, bias):
        b, s, _ = x.shape
        split = lambda t: t.view(b, s, HEADS, H // HEADS).transpose(1, 2)
        scores = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / math.sqrt(H // HEADS)
        probs = self.drop(torch.softmax(scores + bias, -1))
        ctx = (probs @ split(self.v(x))).transpose(1, 2).reshape(b, s, H)
        a = self.ln1(x + self.drop(self.o(ctx)))
        return self.ln2(a + self.drop(self.out(F.gelu(self.i(a)))))


class Bert(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.word, self.pos, self.segment = nn.Embedding(V, H), nn.Embedding(512, H), nn.Embedding(2, H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        self.layers = nn.ModuleList(Layer() for _ in range(layers))
        self.cls = nn.Linear(H, 2)

    def forward(self, ids, types, mask):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        h = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.segment(types)))
        bias = ((1.0 - mask.float()) * -10000.0)[:, None, None, :]
        for layer in self.layers:
            h = layer(h, bias)
        return h, self.cls(self.drop(h[:, 0]))


teacher, student = Bert(12).eval().to(DEVICE), Bert(6).train().to(DEVICE)
for p in teacher.parameters():
    p.requires_grad_(False)
decay = [p for n, p in student.named_parameters() if not n.endswith("bias") and "ln" not in n]
rest = [p for n, p in student.named_parameters() if n.endswith("bias") or "ln" in n]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                        lr=1e-4, eps=1e-6)
ids = torch.randint(1000, V, (BATCH, SEQ)).to(DEVICE)
types = torch.zeros(BATCH, SEQ, dtype=torch.long, device=DEVICE)
mask = torch.ones(BATCH, SEQ, dtype=torch.long, device=DEVICE)
labels = torch.randint(0, 2, (BATCH,)).to(DEVICE)
# torch.amp.GradScaler is newer than Debian's 1.13; torch.cuda.amp's is gone from current releases.
scaler = (torch.amp.GradScaler(DEVICE, enabled=HALF) if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler")
          else torch.cuda.amp.GradScaler(enabled=HALF))


def step():
    with (torch.autocast(DEVICE, dtype=torch.float16) if HALF else contextlib.nullcontext()):
        with torch.no_grad():
            th, tl = teacher(ids, types, mask)
        sh, sl = student(ids, types, mask)
    th, tl, sh, sl = th.float(), tl.float(), sh.float(), sl.float()
    T = 2.0
    soft = F.kl_div(F.log_softmax(sl / T, -1), F.log_softmax(tl / T, -1), log_target=True,
                    reduction="batchmean") * T * T
    cos = (1 - F.cosine_similarity(sh, th, dim=-1)).mean()
    loss = 0.5 * F.cross_entropy(sl, labels) + 0.5 * soft + cos
    opt.zero_grad(set_to_none=False)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
    scaler.step(opt)
    scaler.update()
    if DEVICE != "cpu":
        torch.cuda.synchronize()


steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for _ in range(3):
    step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
print(f"pytorch {torch.__version__} {DEVICE} {'fp16' if HALF else 'fp32'} threads {torch.get_num_threads()}: mean {statistics.mean(times):.0f}, median {statistics.median(times):.0f} ms/step "
      f"over {steps} steps (min {min(times):.0f}, max {max(times):.0f})")
