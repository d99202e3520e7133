"""Company profiles and the entity linker: which tickers a headline concerns, directly or through a rival, supplier, customer or market.

Matching is case-aware on word boundaries, so "Meta" never matches "metals" and "AMD" never "amd":
a name matches as written, in capitals, or with its words capitalised (title-case headlines);
products and market phrases also match in the plural ("H100s", "AI chips") and market phrases with
hyphens for spaces ("data-center"). Every surface form goes into one trie-shaped regex compiled once,
so one headline costs one regex scan plus a few dict look-ups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from models.sentiment.text import Link, Target, normalize_headline

KINDS: tuple[str, str] = ("stock", "benchmark")
RELATIONS: tuple[str, str, str] = ("competitor", "supplier", "customer")
"""Relations to another company, in the order that decides a link's ``relation`` when several are named."""

_NONE = Link("none")
_LEADING_CASHTAGS = re.compile(r"^\s*((?:\$[A-Za-z][A-Za-z.]{0,9}[\s,]*)+)[-:\u2013\u2014|]")
"""The cashtag list ``normalize_headline`` drops ("$NVDA $AMD - ..."): noise for sentiment, the strongest signal for linking."""
_EXCHANGE_SYMBOL = re.compile(r"\b(?i:NASDAQ|NYSE(?:ARCA|AMERICAN)?|AMEX|OTC)\s*:\s*([A-Z][A-Z.]{0,5})\b")
"""A listing like "(NASDAQ:NVDA)": it names the ticker, not the index, so it is read as the cashtag "$NVDA"."""


@dataclass(frozen=True)
class Company:
    """One ticker of the universe: the names that stand for it in headlines and the companies and markets around it.

    ``competitors``, ``suppliers`` and ``customers`` hold universe tickers ("TSM") or outside names
    ("Intel"); ``markets`` are phrases whose news concerns the company ("AI chips"). ``profile`` is
    the one-line description LLM prompts carry; :func:`with_profiles` derives it from the rest.
    """

    ticker: str
    name: str
    kind: str = "stock"
    legal_name: str = ""
    role: str = ""
    aliases: tuple[str, ...] = ()
    cashtags: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    competitors: tuple[str, ...] = ()
    suppliers: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    profile: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.ticker}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    def names(self) -> tuple[str, ...]:
        """Every surface form that names the company itself, the common name first, without repeats."""
        forms = (self.name, self.legal_name, *self.aliases, *self.cashtags, *self.products, *self.people)
        return tuple(dict.fromkeys(form for form in forms if form))

    def related(self, relation: str) -> tuple[str, ...]:
        """The tickers or outside names this company has as ``relation`` (competitor, supplier, customer)."""
        return {"competitor": self.competitors, "supplier": self.suppliers, "customer": self.customers}[relation]

    def target(self) -> Target:
        """What a scorer is told about the company: its name, ticker, other names and one-line profile."""
        return Target(self.name, self.ticker, self.names()[1:], self.profile or describe(self))


def describe(company: Company, names: Mapping[str, str] | None = None) -> str:
    """The one-line profile: "Nvidia (NVDA): GPU maker; competitors AMD, Intel; supplier TSMC; customers Microsoft."

    ``names`` maps universe tickers to company names so relations read as names; unknown keys stay as written.
    """
    names = names or {}
    parts = [f"{company.name} ({company.ticker}): {company.role or company.kind}"]
    for relation in RELATIONS:
        related = [names.get(item, item) for item in company.related(relation)]
        if related:
            label = relation if len(related) == 1 else f"{relation}s"
            parts.append(f"{label} {', '.join(related)}")
    return "; ".join(parts) + "."


def with_profiles(companies: Iterable[Company]) -> tuple[Company, ...]:
    """The companies with ``profile`` derived from their role and relations, tickers shown as names."""
    companies = tuple(companies)
    names = {c.ticker: c.name for c in companies}
    return tuple(replace(c, profile=describe(c, names)) for c in companies)


def case_variants(form: str) -> set[str]:
    """The spellings a name is matched in: as written, in capitals, with its first letter or every word's capitalised."""
    words = form.split(" ")
    return {
        form,
        form.upper(),
        form[:1].upper() + form[1:],
        " ".join(word[:1].upper() + word[1:] for word in words),
    }


def _trie_pattern(forms: Iterable[str]) -> str:
    """A regex alternation of ``forms`` shaped as a prefix trie, so the engine does not retry every form at each position."""
    trie: dict = {}
    for form in forms:
        node = trie
        for char in form:
            node = node.setdefault(char, {})
        node[""] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict) -> str:
    ends = "" in node
    branches = [re.escape(char) + _node_pattern(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return f"(?:{body})?" if len(branches) == 1 else body + "?"
    return body


@dataclass(frozen=True)
class _Meaning:
    """What one matched surface form stands for: a universe ticker or outside name, or a market phrase."""

    key: str
    canonical: str
    is_market: bool
    plural: bool


class EntityLinker:
    """Links a headline to the tickers it concerns: ``direct`` when the company is named, ``indirect`` through
    a competitor, supplier or customer named in it (relation says which) or one of its market phrases
    (relation ``market``), else ``none``. Direct wins over indirect; among relations the order of
    :data:`RELATIONS` wins, then markets.

    ``others`` gives outside companies' extra names ({"OpenAI": ["ChatGPT", "Sam Altman"]}); an outside
    name used in a relation but absent there is matched by itself.
    """

    def __init__(self, companies: Sequence[Company], others: Mapping[str, Sequence[str]] | None = None) -> None:
        self.companies: dict[str, Company] = {c.ticker: c for c in companies}
        meanings: dict[str, list[_Meaning]] = {}

        def add(meaning: _Meaning, variants: Iterable[str]) -> None:
            for variant in variants:
                bucket = meanings.setdefault(variant, [])
                if meaning not in bucket:
                    bucket.append(meaning)

        outside: dict[str, tuple[str, ...]] = {name: (name, *aliases) for name, aliases in (others or {}).items()}
        for company in companies:
            products = set(company.products)
            for form in company.names():
                add(_Meaning(company.ticker, form, False, form in products), case_variants(form))
            for tag in company.cashtags:
                bare = tag.lstrip("$")
                add(_Meaning(company.ticker, bare, False, False), {bare})
            for relation in RELATIONS:
                for item in company.related(relation):
                    if item not in self.companies:
                        outside.setdefault(item, (item,))
            for phrase in company.markets:
                spellings = case_variants(phrase) | case_variants(phrase.replace(" ", "-"))
                add(_Meaning(company.ticker, phrase, True, True), spellings)
        for name, forms in outside.items():
            for form in forms:
                add(_Meaning(name, name, False, False), case_variants(form))
        self._meanings = meanings
        self._pattern = re.compile(r"(?<!\w)(" + _trie_pattern(meanings) + r")(s)?(?!\w)")
        self._watchers: dict[str, list[tuple[str, str]]] = {}
        for company in companies:
            for relation in RELATIONS:
                for item in company.related(relation):
                    self._watchers.setdefault(item, []).append((company.ticker, relation))

    def _scan(self, headline: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Names found (ticker or outside name -> canonical forms) and market phrases found (ticker -> phrases)."""
        found: dict[str, list[str]] = {}
        markets: dict[str, list[str]] = {}
        leading = _LEADING_CASHTAGS.match(headline or "")
        text = normalize_headline(headline)
        if leading:
            text = f"{leading.group(1)} {text}"
        text = _EXCHANGE_SYMBOL.sub(r"$\1", text)
        for match in self._pattern.finditer(text):
            plural = match.group(2) is not None
            for meaning in self._meanings[match.group(1)]:
                if plural and not meaning.plural:
                    continue
                bucket = (markets if meaning.is_market else found).setdefault(meaning.key, [])
                if meaning.canonical not in bucket:
                    bucket.append(meaning.canonical)
        return found, markets

    def link(self, headline: str) -> dict[str, Link]:
        """Every ticker the headline concerns (relevance direct or indirect), in universe order."""
        found, markets = self._scan(headline)
        relations: dict[str, dict[str, list[str]]] = {}
        for key in found:
            for ticker, relation in self._watchers.get(key, ()):
                relations.setdefault(ticker, {}).setdefault(relation, []).append(self._display(key))
        links: dict[str, Link] = {}
        for ticker in self.companies:
            link = self._decide(ticker, found, markets, relations.get(ticker, {}))
            if link.relevance != "none":
                links[ticker] = link
        return links

    def link_one(self, headline: str, ticker: str) -> Link:
        """How the headline concerns one ticker; a ticker that is not in the linker raises ValueError."""
        company = self.companies.get(ticker)
        if company is None:
            raise ValueError(f"unknown ticker {ticker!r}; known: {', '.join(self.companies)}")
        found, markets = self._scan(headline)
        relations: dict[str, list[str]] = {}
        for relation in RELATIONS:
            named = [self._display(item) for item in company.related(relation) if item in found]
            if named:
                relations[relation] = named
        return self._decide(ticker, found, markets, relations)

    def tickers_in(self, headline: str) -> list[str]:
        """The tickers the headline names directly (name, alias, cashtag, product or person), in universe order."""
        found, _ = self._scan(headline)
        return [ticker for ticker in self.companies if ticker in found]

    def _display(self, key: str) -> str:
        company = self.companies.get(key)
        return company.name if company else key

    @staticmethod
    def _decide(ticker: str, found: dict[str, list[str]], markets: dict[str, list[str]], relations: dict[str, list[str]]) -> Link:
        if ticker in found:
            return Link("direct", tuple(found[ticker]))
        for relation in RELATIONS:
            if relation in relations:
                return Link("indirect", tuple(relations[relation]), relation)
        if ticker in markets:
            return Link("indirect", tuple(markets[ticker]), "market")
        return _NONE
