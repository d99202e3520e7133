"""Benchmark (headline, company) sentiment: load time, pairs/s at batch 32, peak memory, per backend and device.

Each measurement runs in its own process so load time is cold (imports + weights) and the peak
resident memory is that model's alone. Models: ``local`` (the default backend: target-aware MiniLM),
``encoder`` (the bare frozen MiniLM encoder with mean pooling over the same texts: the baseline the
ratio is taken against, i.e. what the adapters and head cost) and ``llm`` (Gemma-3-270M label
scoring with the cached prompt prefix; pass ``--llm``, it is slow on CPU). CUDA rows appear only
when a GPU exists. The pairs are synthetic (templates x the universe's companies), so the benchmark
needs no reference data. Run: ``.venv/bin/python bench/bench_sentiment.py [--llm] [--n 512]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 32
COMPANIES = ["Nvidia", "Microsoft", "Meta", "Alphabet", "Amazon", "Apple", "Broadcom", "TSMC", "AMD", "Oracle"]
TEMPLATES = [
    "{c} shares plunge after {d} model rattles AI investors",
    "{c} beats quarterly estimates and raises full-year guidance on strong {d} demand",
    "{c} to hold annual shareholder meeting in {d}",
    "Analysts cut {c} price target, citing slowing {d} spending",
    "{c} unveils new {d} chip, stock little changed in early trading",
    "Regulators open probe into {c}'s {d} acquisition as shares slip",
    "{c} announces $10 billion buyback and lifts dividend after record {d} quarter",
]
DETAILS = ["DeepSeek", "data-center", "cloud", "AI", "Frankfurt", "advertising", "smartphone", "networking"]


def synthetic_headlines(n: int) -> list[str]:
    """``n`` distinct, realistic-length headlines from templates."""
    out = []
    for i in range(n):
        template = TEMPLATES[i % len(TEMPLATES)]
        out.append(template.format(c=COMPANIES[(i // 7) % len(COMPANIES)], d=DETAILS[(i // 70) % len(DETAILS)]) + f" ({i})")
    return out


def synthetic_pairs(n: int) -> list:
    """``n`` (headline, company) pairs: each headline scored for the company it names, linked as the pipeline links it."""
    from models.sentiment.text import Link, Pair, Target
    from pipelines.companies import default_linker

    linker = default_linker()
    by_name = {c.name: c for c in linker.companies.values()}
    pairs = []
    for i, headline in enumerate(synthetic_headlines(n)):
        name = COMPANIES[(i // 7) % len(COMPANIES)]
        company = by_name.get(name)
        target = company.target() if company else Target(name)
        link = linker.link_one(headline, company.ticker) if company else Link("direct", (name,))
        pairs.append(Pair(headline, target, link))
    return pairs


def worker(model: str, device: str, n: int) -> dict[str, float]:
    """Load ``model`` on ``device``, warm up, then time ``n`` headlines at batch 32."""
    import torch

    started = time.perf_counter()
    if model in ("local", "llm"):
        from models.sentiment import BackendConfig, load_classifier

        classifier = load_classifier(BackendConfig(backend=model, device=device))
        run = lambda items: classifier.predict(items, batch_size=BATCH)  # noqa: E731
    elif model == "encoder":
        from models.sentiment.backbone import load_backbone
        from models.sentiment.device import select_device

        backbone = load_backbone("minilm", select_device(device))

        @torch.inference_mode()
        def run(items: list) -> None:
            for start in range(0, len(items), BATCH):
                texts = [f"{p.target.name} [SEP] {p.headline}" for p in items[start : start + BATCH]]
                batch = backbone.tokenizer(texts, padding=True, truncation=True, max_length=96,
                                           return_tensors="pt").to(backbone.choice.device)
                hidden = backbone.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                ((hidden * mask).sum(1) / mask.sum(1)).cpu()
    else:
        raise ValueError(f"unknown model {model!r}")
    load_s = time.perf_counter() - started
    texts = synthetic_pairs(n)
    run(texts[:BATCH])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    run(texts)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else 0.0
    return {"load_s": load_s, "per_s": n / seconds, "peak_rss_mb": peak_mb, "peak_gpu_mb": gpu_mb, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="pairs per timed run")
    parser.add_argument("--llm", action="store_true", help="also time the llm backend (Gemma-3-270M)")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "DEVICE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.n)))
        return
    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    models = ["encoder", "local"] + (["llm"] if args.llm else [])
    print(f"sentiment benchmark: {args.n} synthetic (headline, company) pairs, batch {BATCH}; "
          f"{'GPU: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU on this machine'}")
    print(f"{'model':<9} {'device':<6} {'load s':>7} {'pairs/s':>12} {'vs encoder':>11} {'peak RSS MB':>12} {'peak GPU MB':>12}")
    for device in devices:
        baseline = None
        for model in models:
            done = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--worker", model, device],
                                  capture_output=True, text=True, check=False, cwd=ROOT)
            if done.returncode != 0:
                print(f"{model:<9} {device:<6} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            baseline = baseline or result["per_s"]
            print(f"{model:<9} {device:<6} {result['load_s']:7.1f} {result['per_s']:12.1f} {result['per_s'] / baseline:10.2f}x "
                  f"{result['peak_rss_mb']:12.0f} {result['peak_gpu_mb']:12.0f}")


if __name__ == "__main__":
    main()
