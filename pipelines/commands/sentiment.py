"""``impact sentiment``: score (headline, company) pairs, evaluate a backend, retrain the local model.

``classify`` is a contract other tools read: one output row per (input line, ticker), in order,
echoing the input columns (headline, ticker) and adding relevance, relation, label, p_negative,
p_neutral, p_positive and score (TSV with a header, or a JSON array).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipelines.commands.handler import ImpactGroup
from pipelines.errors import ImpactError, InputError
from pipelines.universe import split_names

app = typer.Typer(help="Headline sentiment per company: classify, evaluate, train.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=ImpactGroup)
console = Console(stderr=True)

OUTPUT_COLUMNS = ("headline", "ticker", "relevance", "relation", "label", "p_negative", "p_neutral", "p_positive", "score")

BackendOption = Annotated[str, typer.Option(help="local (target-aware MiniLM, CPU), llm (Hugging Face causal LM) or remote (OpenAI-compatible server).")]
ModelOption = Annotated[str | None, typer.Option(help="llm: hub id, local folder, GGUF file or packaged name (gemma-3-270m, smollm2-135m); remote: served model name; local: weights stem.")]
DeviceOption = Annotated[str, typer.Option(help="auto (CUDA in bf16 when present, else CPU), cpu, cuda.")]
UrlOption = Annotated[str | None, typer.Option(help="Remote base URL, e.g. http://gpu-host:8000/v1.")]
BatchOption = Annotated[int, typer.Option(min=1, help="Pairs per batch.")]


def _fail(message: str) -> InputError:
    """A user mistake (unknown ticker, unreadable file, bad line): `impact` prints it in a line and exits 1."""
    return InputError(message)


def _load(backend: str, model: str | None, device: str, url: str | None):
    import pipelines.sources.inference  # noqa: F401  (registers the HTTP backend "remote")
    from models.sentiment import BackendConfig, load_classifier
    from pipelines.settings import secret

    try:
        return load_classifier(BackendConfig(backend, model, device, url, api_key=secret("IMPACT_SENTIMENT_API_KEY")))
    except (ValueError, RuntimeError, FileNotFoundError, OSError) as error:
        raise _fail(f"cannot load the sentiment model: {error}") from error


def read_requests(text: str, tickers: list[str]) -> list[tuple[str, str]]:
    """(headline, ticker) requests: each line for every ``tickers`` entry, else each line as ``headline<TAB>ticker``."""
    lines = text.splitlines()
    if tickers:
        return [(line, ticker) for line in lines for ticker in tickers]
    requests = []
    for number, line in enumerate(lines, start=1):
        headline, tab, ticker = line.rpartition("\t")
        if not tab or not ticker.strip():
            raise _fail(f"line {number}: expected 'headline<TAB>ticker' (or pass --ticker T to score every line for T): {line[:80]!r}")
        requests.append((headline, ticker.strip()))
    return requests


@app.command()
def classify(
    source: Annotated[str, typer.Argument(help="File with one headline per line (or headline<TAB>ticker lines), or - for standard input.")] = "-",
    ticker: Annotated[str | None, typer.Option("--ticker", "-t", help="Score every line for these tickers (comma list); else lines are headline<TAB>ticker.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="tsv or json.")] = "tsv",
    backend: BackendOption = "local",
    model: ModelOption = None,
    device: DeviceOption = "auto",
    url: UrlOption = None,
    batch_size: BatchOption = 32,
) -> None:
    """Sentiment of each headline FOR each company: relevance (direct/indirect/none), label, probabilities, score.

    A headline that does not concern the company (relevance none) is neutral without asking the model;
    a blank line gets the uniform distribution.
    """
    from models.sentiment.pairs import score_pairs
    from models.sentiment.text import Pair
    from pipelines.companies import company, default_linker

    if output_format not in ("tsv", "json"):
        raise typer.BadParameter(f"--format must be tsv or json, got {output_format!r}")
    if source == "-":
        text = sys.stdin.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise _fail(f"no such file: {path}")
        text = path.read_text(encoding="utf-8", errors="replace")
    requests = read_requests(text, [t.upper() for t in split_names(ticker)])
    try:
        targets = {t: company(t.upper()).target() for t in {t for _, t in requests}}
    except ImpactError as error:
        raise _fail(str(error)) from error
    linker = default_linker()
    pairs = [Pair(h, targets[t], linker.link_one(h, t.upper())) for h, t in requests]
    classifier = _load(backend, model, device, url)
    predictions = score_pairs(classifier, pairs, batch_size=batch_size)
    rows = [
        {"headline": h, "ticker": t, "relevance": pair.linked.relevance, "relation": pair.linked.relation, **p.as_dict()}
        for (h, t), pair, p in zip(requests, pairs, predictions, strict=True)
    ]
    if output_format == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    typer.echo("\t".join(OUTPUT_COLUMNS))
    for r in rows:
        typer.echo(f"{r['headline']}\t{r['ticker']}\t{r['relevance']}\t{r['relation'] or ''}\t{r['label']}\t"
                   f"{r['p_negative']:.4f}\t{r['p_neutral']:.4f}\t{r['p_positive']:.4f}\t{r['score']:+.4f}")


@app.command("eval")
def evaluate(
    sets: Annotated[list[str] | None, typer.Option("--set", help="dev, sentfin, fpb, tfns, or a CSV/TSV file (headline, ticker|entity, label); repeatable.")] = None,
    backend: BackendOption = "local",
    model: ModelOption = None,
    device: DeviceOption = "auto",
    url: UrlOption = None,
    batch_size: BatchOption = 32,
    limit: Annotated[int | None, typer.Option(min=1, help="Score a seeded sample of about N pairs per set (whole headlines).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Entity-level accuracy and macro-F1 per set, and accuracy on the pairs of conflicting headlines.

    SEntFiN and the Financial PhraseBank are evaluation only: this command reads them, nothing trains on them.
    """
    from models.sentiment.evaluation import evaluate as run
    from models.sentiment.text import LABELS
    from pipelines.sentiment_sets import load_set

    if output_format not in ("table", "json"):
        raise typer.BadParameter(f"--format must be table or json, got {output_format!r}")
    try:
        data = [load_set(name).sample(limit) for name in (sets or ["dev"])]
    except ImpactError as error:
        raise _fail(str(error)) from error
    classifier = _load(backend, model, device, url)
    results = []
    for labelled in data:
        console.print(f"scoring {len(labelled.pairs)} pairs of {labelled.name} with {classifier.model_id} ...")
        results.append(run(classifier, labelled, batch_size=batch_size))
    if output_format == "json":
        typer.echo(json.dumps([r.row() for r in results], indent=1))
        return
    out = Console()
    summary = Table(title=f"{classifier.model_id} {classifier.model_version}")
    for column in ("set", "n", "accuracy", "macro F1", "conflicting n", "conflicting acc", "pairs/s"):
        summary.add_column(column, justify="left" if column == "set" else "right")
    for result in results:
        c = result.conflicting
        summary.add_row(result.name, str(result.overall.n), f"{result.overall.accuracy:.4f}", f"{result.overall.macro_f1:.4f}",
                        str(c.n) if c else "0", f"{c.accuracy:.4f}" if c else "-", f"{result.pairs_per_s:.1f}")
        matrix = Table(title=f"{result.name}: confusion (rows true, columns predicted)")
        matrix.add_column("")
        for label in LABELS:
            matrix.add_column(label, justify="right")
        for label, counts in zip(LABELS, result.overall.confusion, strict=True):
            matrix.add_row(label, *[str(int(v)) for v in counts])
        out.print(matrix)
    out.print(summary)


@app.command()
def train(
    data: Annotated[Path | None, typer.Option(help="Twitter financial news train split (default: ../shared/data/.../sent_train.csv).")] = None,
    out: Annotated[Path | None, typer.Option(help="Model file stem (default: the shipped models/sentiment/assets/minilm-target).")] = None,
    device: DeviceOption = "auto",
) -> None:
    """Reproduce the shipped local model from its recipe: stage 2 from the Twitter head, then stage 3 (see the model card).

    Trains only on the MIT Twitter set and pairs the project composes itself; about an hour on a 2-core CPU.
    """
    from models.sentiment.classifier import DEFAULT_MODEL
    from models.sentiment.datasets import read_twitter
    from models.sentiment.training import train_shipped
    from pipelines.sentiment_sets import REFERENCE

    source = data or REFERENCE / "twitter_financial_news" / "sent_train.csv"
    if not source.is_file():
        raise _fail(f"training data not found: {source} (the Twitter financial news train split, MIT)")
    result = train_shipped(read_twitter(source, "twitter_financial_news/train"), out or DEFAULT_MODEL, device=device,
                           log=console.print)
    console.print(f"wrote {result.stem}.{{json,safetensors}} version {result.version}: best epoch {result.best_epoch}, "
                  f"held-out accuracy {result.holdout_accuracy:.4f}, temperature {result.temperature:.3f}, {result.seconds:.0f} s")
