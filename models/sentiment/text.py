"""Label order, the per-headline result, and the one text normalisation every backend shares.

Training and inference must see headlines the same way, so the normalisation lives here once:
HTML entities are decoded and tags dropped (feeds deliver ``&amp;``), URLs are removed (the
Twitter training set ends most rows with a t.co link that carries no sentiment), whitespace is
collapsed, a leading cashtag list ("$CCL $RCL - ") is dropped (newswire headlines
have none, so the model should not learn to lean on it) and absurdly long input is cut before tokenisation so it cannot blow up memory.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
"""The fixed label order of every probability vector in this package."""

MAX_CHARS = 1000
"""Characters kept of one headline; the tokenizer truncates further to the model's limit."""

_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_CASHTAG_PREFIX = re.compile(r"^(?:\$[A-Za-z][A-Za-z.]{0,9}[\s,]*)+[-:\u2013\u2014|]\s+")


def normalize_headline(text: str) -> str:
    """Decode HTML, drop tags and URLs, collapse whitespace and cap the length.

    Returns an empty string when nothing readable is left; callers treat that as "no information".
    """
    decoded = html.unescape(html.unescape(text or ""))
    cleaned = _URL.sub(" ", _TAG.sub(" ", decoded))
    collapsed = _SPACE.sub(" ", cleaned).strip()
    return _CASHTAG_PREFIX.sub("", collapsed)[:MAX_CHARS]


@dataclass(frozen=True)
class Prediction:
    """One headline's sentiment: the arg-max label, calibrated probabilities and a score in [-1, 1].

    ``score`` is ``p_positive - p_negative``: +1 certainly good news, -1 certainly bad, 0 neutral or
    undecided. An empty headline gets the uniform distribution, label ``neutral`` and score 0.
    """

    label: str
    p_negative: float
    p_neutral: float
    p_positive: float
    score: float
    model: str
    model_version: str

    def as_dict(self) -> dict[str, object]:
        """The fields as a plain dict (JSON output, DataFrame rows)."""
        return asdict(self)


def prediction_from_probs(probs: tuple[float, float, float], model: str, model_version: str) -> Prediction:
    """Build a :class:`Prediction` from probabilities in :data:`LABELS` order."""
    total = sum(probs)
    if not total > 0:
        raise ValueError(f"probabilities must sum to a positive number, got {probs}")
    p_neg, p_neu, p_pos = (float(p) / total for p in probs)
    label = LABELS[max(range(3), key=lambda i: (p_neg, p_neu, p_pos)[i])]
    return Prediction(label, p_neg, p_neu, p_pos, p_pos - p_neg, model, model_version)


def empty_prediction(model: str, model_version: str) -> Prediction:
    """The defined answer for a headline with no readable text: uniform, neutral, score 0."""
    third = 1.0 / 3.0
    return Prediction("neutral", third, third, third, 0.0, model, model_version)


RELEVANCES: tuple[str, str, str] = ("direct", "indirect", "none")
"""How a headline concerns a company: named in it, through a competitor/supplier/customer/market, or not at all."""


@dataclass(frozen=True)
class Target:
    """The company a headline is scored *for*: the unit of sentiment is (headline, target).

    ``name`` is how headlines usually call it ("Nvidia"); ``aliases`` are the other names that
    stand for it in text (legal name, cashtag, products, people); ``profile`` is a one-line
    description (role, competitors, suppliers, customers) that LLM prompts carry. Only ``name`` is
    required: an evaluation set's entity ("SpiceJet") is a Target with no ticker and no profile.
    """

    name: str
    ticker: str | None = None
    aliases: tuple[str, ...] = ()
    profile: str = ""


@dataclass(frozen=True)
class Link:
    """Why a headline concerns a target, as the entity linker found it.

    ``via`` are the names in the headline that tie it to the target: the company's own names for
    ``direct``; for ``indirect`` the competitor, supplier, customer or market named, with
    ``relation`` saying which of those it is (``competitor``, ``supplier``, ``customer``, ``market``,
or ``tagged`` when only the news source's ticker tags tie the story to the company).
    """

    relevance: str
    via: tuple[str, ...] = ()
    relation: str | None = None

    def __post_init__(self) -> None:
        if self.relevance not in RELEVANCES:
            raise ValueError(f"relevance must be one of {', '.join(RELEVANCES)}, got {self.relevance!r}")


@dataclass(frozen=True)
class Pair:
    """One unit of scoring: a headline, the company it is scored for, and (when known) how they are linked.

    ``link`` is None for evaluation sets whose entity is named in the headline by construction.
    """

    headline: str
    target: Target
    link: Link | None = None

    @property
    def linked(self) -> Link:
        """The link of a pair the entity linker built (it always sets one); ValueError for an evaluation pair."""
        if self.link is None:
            raise ValueError(f"pair ({self.headline!r}, {self.target.name!r}) was not built by the entity linker")
        return self.link
