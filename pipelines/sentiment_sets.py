"""The labelled sets `impact sentiment eval` scores, as (headline, company) pairs with gold labels.

* ``dev``: the project's own pairs about the universe (tests/data/sentiment_dev.tsv), linked by the
  entity linker exactly as the pipeline links headlines: the end-to-end score.
* ``sentfin``: SEntFiN 1.0 entity labels (EVALUATION ONLY); the entity is the target.
* ``fpb``: Financial PhraseBank all-agree (EVALUATION ONLY); ``tfns``: Twitter financial news valid
  split. Neither names a target: each sentence is scored for a generic company.
* any other value: a CSV/TSV file with columns headline, ticker (a universe ticker) or entity, label.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from models.sentiment.evaluation import EvalSet
from models.sentiment.text import LABELS, Pair, Target
from pipelines.errors import DataValidationError
from pipelines.warehouse import REPO_ROOT

REFERENCE = REPO_ROOT.parent / "shared" / "data" / "sentiment"
DEV_SET = REPO_ROOT / "tests" / "data" / "sentiment_dev.tsv"
GENERIC_TARGET = Target("the company")
"""The target of sentences that name none (FPB, tweets): their sentiment for the company they are about."""


def _need(path: Path) -> Path:
    if not path.is_file():
        raise DataValidationError(str(path), "evaluation file not found (reference sets live in ../shared/data/sentiment)")
    return path


def linked_pairs(frame: pd.DataFrame, origin: str) -> EvalSet:
    """Rows with headline, ticker, label -> pairs linked by the entity linker (relevance none: scored neutral)."""
    from pipelines.companies import company, default_linker

    linker = default_linker()
    pairs, labels = [], []
    for row, (headline, ticker, label) in enumerate(zip(frame["headline"], frame["ticker"], frame["label"], strict=True), start=2):
        if label not in LABELS:
            raise DataValidationError(origin, f"label must be one of {', '.join(LABELS)}, got {label!r}", row=row, field="label")
        target = company(ticker).target()
        pairs.append(Pair(headline, target, linker.link_one(headline, ticker)))
        labels.append(LABELS.index(label))
    return EvalSet(origin, pairs, labels)


def entity_pairs(frame: pd.DataFrame, origin: str) -> EvalSet:
    """Rows with headline, entity, label -> pairs whose target is the entity (named in the headline by construction)."""
    bad = frame.index[~frame["label"].isin(LABELS)]
    if len(bad):
        raise DataValidationError(origin, f"label must be one of {', '.join(LABELS)}, got {frame['label'][bad[0]]!r}",
                                  row=int(bad[0]) + 2, field="label")
    pairs = [Pair(h, Target(str(e))) for h, e in zip(frame["headline"], frame["entity"], strict=True)]
    return EvalSet(origin, pairs, [LABELS.index(v) for v in frame["label"]])


def read_dev(path: Path = DEV_SET) -> EvalSet:
    """The project's dev set, linked end to end."""
    frame = pd.read_csv(_need(path), sep="\t", dtype=str, keep_default_na=False)
    return linked_pairs(frame, "dev")


def read_sentfin(path: Path = REFERENCE / "sentfin" / "SEntFiN.csv") -> EvalSet:
    """SEntFiN 1.0: one pair per (headline, entity) of its ``Decisions`` column. Evaluation only."""
    import json

    raw = pd.read_csv(_need(path), dtype=str, keep_default_na=False)
    rows = [(title, entity, label) for title, decisions in zip(raw["Title"], raw["Decisions"], strict=True)
            for entity, label in json.loads(decisions).items()]
    return entity_pairs(pd.DataFrame(rows, columns=["headline", "entity", "label"]), "sentfin")


def _generic(name: str, texts: list[str], labels: list[int]) -> EvalSet:
    return EvalSet(name, [Pair(text, GENERIC_TARGET) for text in texts], labels)


def read_fpb(path: Path = REFERENCE / "financial_phrasebank" / "Sentences_AllAgree.txt") -> EvalSet:
    """Financial PhraseBank, all annotators agreeing. Evaluation only."""
    from models.sentiment.datasets import read_phrasebank

    data = read_phrasebank(_need(path), "fpb")
    return _generic("fpb", data.texts, data.labels)


def read_tfns(path: Path = REFERENCE / "twitter_financial_news" / "sent_valid.csv") -> EvalSet:
    """Twitter financial news, valid split."""
    from models.sentiment.datasets import read_twitter

    data = read_twitter(_need(path), "tfns")
    return _generic("tfns", data.texts, data.labels)


def read_file(path: Path) -> EvalSet:
    """A user's file: CSV or TSV with headline, label and either ticker (linked) or entity (taken as named)."""
    frame = pd.read_csv(_need(path), sep=None, engine="python", dtype=str, keep_default_na=False)
    missing = {"headline", "label"} - set(frame.columns)
    if missing or not {"ticker", "entity"} & set(frame.columns):
        raise DataValidationError(str(path), f"need columns headline, label and ticker or entity; found {', '.join(frame.columns)}")
    return linked_pairs(frame, path.name) if "ticker" in frame.columns else entity_pairs(frame, path.name)


EVAL_SETS: dict[str, Callable[[], EvalSet]] = {"dev": read_dev, "sentfin": read_sentfin, "fpb": read_fpb, "tfns": read_tfns}
"""Named sets; anything else given to ``--set`` is read as a file."""


def load_set(name: str) -> EvalSet:
    """A named set or a file path."""
    return EVAL_SETS[name]() if name in EVAL_SETS else read_file(Path(name))
