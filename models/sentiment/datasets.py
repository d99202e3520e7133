"""Readers for the labelled sets, mapped to :data:`LABELS` indices; the caller passes the paths.

* Twitter financial news (MIT): ``text,label`` CSV with 0 bearish, 1 bullish, 2 neutral. Used
  for everything that learns or chooses.
* Financial PhraseBank (CC BY-NC-SA 3.0): ``sentence@label`` lines, ISO-8859-1 except the
  all-agree file. EVALUATION ONLY: nothing in this package trains, tunes or calibrates on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.sentiment.text import LABELS

TWITTER_TO_LABEL = {0: LABELS.index("negative"), 1: LABELS.index("positive"), 2: LABELS.index("neutral")}


@dataclass(frozen=True)
class LabelledSet:
    """Texts with label indices into :data:`LABELS`."""

    name: str
    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)


def read_twitter(path: Path, name: str | None = None) -> LabelledSet:
    """Read one Twitter financial news split (``sent_train.csv`` or ``sent_valid.csv``)."""
    frame = pd.read_csv(path, dtype={"text": str})
    if list(frame.columns[:2]) != ["text", "label"]:
        raise ValueError(f"{path}: expected columns text,label, got {list(frame.columns)}")
    unknown = sorted(set(frame["label"]) - set(TWITTER_TO_LABEL))
    if unknown:
        raise ValueError(f"{path}: unknown labels {unknown}; expected 0 bearish, 1 bullish, 2 neutral")
    return LabelledSet(name or path.stem, frame["text"].fillna("").tolist(), [TWITTER_TO_LABEL[int(v)] for v in frame["label"]])


def read_phrasebank(path: Path, name: str | None = None) -> LabelledSet:
    """Read one Financial PhraseBank file (UTF-8 when it decodes, else ISO-8859-1)."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        content = raw.decode("iso-8859-1")
    texts, labels = [], []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        sentence, sep, label = line.rpartition("@")
        label = label.strip()
        if not sep or label not in LABELS:
            raise ValueError(f"{path}, line {number}: expected 'sentence@label' with label in {LABELS}, got {line[:80]!r}")
        texts.append(sentence.strip())
        labels.append(LABELS.index(label))
    return LabelledSet(name or path.stem, texts, labels)
