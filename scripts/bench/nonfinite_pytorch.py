"""The non-finite-gradient harness in plain PyTorch, as a cross-check of distill4j's
(`./distill run RECIPE --stress`): the same model, batches and dropout seeds computed again and
again, nothing applied; counts computations whose gradients are not finite, or differ bit-wise
from the update's most frequent result.

Usage: python scripts/bench/nonfinite_pytorch.py MODEL_DIR GLUE_TSV UPDATES REPEATS [--batch 32] [--max-length 64]
MODEL_DIR: a distill4j model directory (model.safetensors, config.json, tokenizer.json).
"""
import argparse, collections, csv, json, math, sys, time

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer
from transformers import BertConfig, BertModel

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("tsv"); p.add_argument("updates", type=int); p.add_argument("repeats", type=int)
p.add_argument("--batch", type=int, default=32); p.add_argument("--max-length", type=int, default=64)
a = p.parse_args()

cfg = json.load(open(f"{a.model}/config.json"))
config = BertConfig(**{k: v for k, v in cfg.items() if k != "architectures"}, attn_implementation="eager")
encoder = BertModel(config, add_pooling_layer=False)
sd = load_file(f"{a.model}/model.safetensors")
missing, unexpected = encoder.load_state_dict({k: v for k, v in sd.items() if not k.startswith("classifier")}, strict=False)
assert not missing, missing
classifier = torch.nn.Linear(config.hidden_size, sd["classifier.weight"].shape[0])
classifier.load_state_dict({"weight": sd["classifier.weight"], "bias": sd["classifier.bias"]})
params = [(n, q) for n, q in encoder.named_parameters()] + [("classifier." + n, q) for n, q in classifier.named_parameters()]
encoder.train(); classifier.train()

tok = Tokenizer.from_file(f"{a.model}/tokenizer.json")
tok.enable_truncation(a.max_length); tok.enable_padding()
rows = list(csv.DictReader(open(a.tsv), delimiter="\t", quoting=csv.QUOTE_NONE))
batches = []
for u in range(a.updates):
    part = rows[u * a.batch:(u + 1) * a.batch]
    enc = tok.encode_batch([r["sentence"] for r in part])
    batches.append((torch.tensor([e.ids for e in enc]), torch.tensor([e.attention_mask for e in enc]),
                    torch.tensor([int(r["label"]) for r in part])))

results = collections.defaultdict(list)
events, t0 = [], time.time()
for r in range(1, a.repeats + 1):
    for u, (ids, mask, labels) in enumerate(batches):
        torch.manual_seed(1000 + u)
        hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(classifier(hidden[:, 0]), labels)
        loss.backward()
        sq = [float(q.grad.double().square().sum()) for _, q in params]
        for _, q in params:
            q.grad = None
        bad = [n for (n, _), s in zip(params, sq) if not math.isfinite(s)]
        if bad:
            events.append(f"repeat {r}, update {u + 1}: non-finite gradients in {len(bad)} of {len(params)} "
                          f"parameters, from {bad[::-1][:3]}")
        else:
            results[u].append((r, (loss.item(), tuple(sq))))
    print(f"repeat {r} of {a.repeats} done, {len(events)} non-finite so far ({time.time() - t0:.0f} s)",
          file=sys.stderr, flush=True)

differing = 0
for u, rs in results.items():
    mode, _ = collections.Counter(fp for _, fp in rs).most_common(1)[0]
    differing += sum(fp != mode for _, fp in rs)
print(f"{len(events)} non-finite and {differing} differing of {a.updates * a.repeats} update computations "
      f"({a.updates} updates x {a.repeats} repeats, {time.time() - t0:.0f} s; torch {torch.__version__}, "
      f"{torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()})")
for e in events:
    print("  " + e)
