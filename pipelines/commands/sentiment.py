"""``impact sentiment``: classify headlines, evaluate the model, retrain the shipped head.

``classify`` is a contract other tools read: one output row per input line, in order, with the
columns label, p_negative, p_neutral, p_positive, score (TSV with a header, or a JSON array).
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.warehouse import REPO_ROOT

app = typer.Typer(help="Headline sentiment: classify, evaluate, train.", no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(stderr=True)

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "sentiment"
COLUMNS = ("label", "p_negative", "p_neutral", "p_positive", "score")

BackendOption = Annotated[str, typer.Option(help="local (this machine) or remote (OpenAI-compatible server).")]
ModelOption = Annotated[str, typer.Option(help="Local model: head (MiniLM + trained head) or fewshot (Gemma-3-270M).")]
DeviceOption = Annotated[str, typer.Option(help="auto (CUDA in bf16 when present, else CPU), cpu, cuda.")]
UrlOption = Annotated[str | None, typer.Option(help="Remote base URL, e.g. http://gpu-host:8000/v1.")]
RemoteModelOption = Annotated[str, typer.Option(help="Model name the remote server serves.")]
BatchOption = Annotated[int, typer.Option(min=1, help="Headlines per batch.")]


def _load(backend: str, model: str, device: str, url: str | None, remote_model: str):
    from models.sentiment import load_classifier

    try:
        return load_classifier(backend=backend, model=model, device=device, url=url, remote_model=remote_model)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        console.print(f"[red]cannot load the sentiment model:[/] {error}")
        raise typer.Exit(2) from error


@app.command()
def classify(
    source: Annotated[str, typer.Argument(help="File with one headline per line, or - for standard input.")] = "-",
    output_format: Annotated[str, typer.Option("--format", help="tsv or json.")] = "tsv",
    backend: BackendOption = "local",
    model: ModelOption = "head",
    device: DeviceOption = "auto",
    url: UrlOption = None,
    remote_model: RemoteModelOption = "default",
    batch_size: BatchOption = 32,
) -> None:
    """Print label, p_negative, p_neutral, p_positive and score for each input line (blank lines: neutral, uniform)."""
    if output_format not in ("tsv", "json"):
        raise typer.BadParameter(f"--format must be tsv or json, got {output_format!r}")
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}")
        text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    classifier = _load(backend, model, device, url, remote_model)
    predictions = classifier.predict(lines, batch_size=batch_size)
    if output_format == "json":
        rows = [{"headline": line, **p.as_dict()} for line, p in zip(lines, predictions)]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    typer.echo("\t".join(COLUMNS))
    for p in predictions:
        typer.echo(f"{p.label}\t{p.p_negative:.4f}\t{p.p_neutral:.4f}\t{p.p_positive:.4f}\t{p.score:+.4f}")


@app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option(help="Folder with financial_phrasebank/ and twitter_financial_news/.")] = DEFAULT_DATA,
    backend: BackendOption = "local",
    model: ModelOption = "head",
    device: DeviceOption = "auto",
    url: UrlOption = None,
    remote_model: RemoteModelOption = "default",
    batch_size: BatchOption = 32,
    limit: Annotated[int | None, typer.Option(min=1, help="Score a seeded random sample of N rows per set (quick look).")] = None,
) -> None:
    """Accuracy, macro F1, weighted F1 and confusion matrices on FPB all-agree, FPB 50%-agree and Twitter valid.

    The Financial PhraseBank is evaluation only: this command reads it, nothing trains on it.
    """
    from models.sentiment.datasets import read_phrasebank, read_twitter
    from models.sentiment.metrics import score
    from models.sentiment.text import LABELS

    files = {
        "FPB all-agree": (read_phrasebank, data / "financial_phrasebank" / "Sentences_AllAgree.txt"),
        "FPB 50%-agree": (read_phrasebank, data / "financial_phrasebank" / "Sentences_50Agree.txt"),
        "Twitter valid": (read_twitter, data / "twitter_financial_news" / "sent_valid.csv"),
    }
    missing = [str(path) for _, path in files.values() if not path.is_file()]
    if missing:
        console.print(f"[red]evaluation data not found:[/] {', '.join(missing)}")
        raise typer.Exit(2)
    classifier = _load(backend, model, device, url, remote_model)
    summary = Table(title=f"{classifier.model_id} {classifier.model_version}")
    for column in ("set", "n", "accuracy", "macro F1", "weighted F1", "headlines/s"):
        summary.add_column(column, justify="left" if column == "set" else "right")
    out = Console()
    for name, (reader, path) in files.items():
        labelled = reader(path, name)
        rows = sorted(random.Random(0).sample(range(len(labelled)), limit)) if limit and limit < len(labelled) else range(len(labelled))
        texts, truth = [labelled.texts[i] for i in rows], [labelled.labels[i] for i in rows]
        started = time.perf_counter()
        predicted = [LABELS.index(p.label) for p in classifier.predict(texts, batch_size=batch_size)]
        rate = len(texts) / (time.perf_counter() - started)
        result = score(truth, predicted)
        summary.add_row(name, str(result.n), f"{result.accuracy:.4f}", f"{result.macro_f1:.4f}", f"{result.weighted_f1:.4f}", f"{rate:.1f}")
        matrix = Table(title=f"{name}: confusion (rows true, columns predicted)")
        matrix.add_column("")
        for label in LABELS:
            matrix.add_column(label, justify="right")
        for label, counts in zip(LABELS, result.confusion):
            matrix.add_row(label, *[str(int(c)) for c in counts])
        out.print(matrix)
    out.print(summary)


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="Folder with sent_train.csv (Twitter financial news).")] = DEFAULT_DATA / "twitter_financial_news",
    out: Annotated[Path | None, typer.Option(help="Head file stem (default: the shipped models/sentiment/assets/minilm-lora-twitter).")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 4,
    seed: Annotated[int, typer.Option()] = 13,
    device: DeviceOption = "auto",
) -> None:
    """Retrain the shipped head (LoRA + linear head + temperature) on the Twitter training split only."""
    from models.sentiment.classifier import DEFAULT_HEAD
    from models.sentiment.datasets import read_twitter
    from models.sentiment.training import TrainConfig, train_head

    source = data / "sent_train.csv"
    if not source.is_file():
        console.print(f"[red]training data not found:[/] {source}")
        raise typer.Exit(2)
    result = train_head(
        read_twitter(source, "twitter_financial_news/train"), out or DEFAULT_HEAD,
        TrainConfig(epochs=epochs, seed=seed), device=device, log=console.print,
    )
    console.print(f"wrote {result.stem}.{{json,safetensors}} version {result.version}: best epoch {result.best_epoch}, "
                  f"held-out accuracy {result.holdout_accuracy:.4f}, temperature {result.temperature:.3f}, {result.seconds:.0f} s")
