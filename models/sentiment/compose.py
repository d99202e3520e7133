"""Training pairs the project composes itself, seeded and reproducible, for the target-aware model.

Only redistributable text goes in: the MIT Twitter financial news split and templates written
here. Four sources, each row a (:class:`Pair`, label index, source name):

* ``twitter``: each tweet scored for the company it is about (its cashtag's name as found in the
  text), else for a generic target ("the company") that the text does not mark;
* ``composite``: two single-company tweets with different labels joined like a newswire headline
  ("X ...; Y ...", "X ... while Y ..."), once for each company, labelled with its own part;
* ``template``: company-role templates ("{A} wins {B}'s order over {C}") with a label per role;
* ``indirect``: headlines about a competitor, customer, supplier or market of a target that is not
  named, with the link's relation, labelled by what the news means for the target.

Company names come from :data:`REAL_COMPANIES` and from fictional names built from syllables;
none is taken from an evaluation set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from models.sentiment.datasets import LabelledSet
from models.sentiment.text import LABELS, Link, Pair, Target, normalize_headline

NEG, NEU, POS = (LABELS.index(label) for label in LABELS)
GENERIC = Target("the company")
"""The target of a text that names no company (a macro tweet, a Financial PhraseBank sentence)."""

REAL_COMPANIES: tuple[tuple[str, str | None], ...] = (
    ("Nvidia", "NVDA"), ("AMD", "AMD"), ("Intel", "INTC"), ("Microsoft", "MSFT"), ("Apple", "AAPL"),
    ("Alphabet", "GOOGL"), ("Google", "GOOGL"), ("Amazon", "AMZN"), ("Meta", "META"), ("Broadcom", "AVGO"),
    ("TSMC", "TSM"), ("Oracle", "ORCL"), ("ASML", "ASML"), ("Super Micro", "SMCI"), ("Qualcomm", "QCOM"),
    ("Samsung", "SSNLF"), ("Micron", "MU"), ("IBM", "IBM"), ("Dell", "DELL"), ("HP", "HPQ"), ("Cisco", "CSCO"),
    ("Salesforce", "CRM"), ("Adobe", "ADBE"), ("Tesla", "TSLA"), ("Netflix", "NFLX"), ("Arm", "ARM"),
    ("Marvell", "MRVL"), ("SK Hynix", "HXSCL"), ("Texas Instruments", "TXN"), ("Applied Materials", "AMAT"),
    ("Lam Research", "LRCX"), ("Foxconn", "HNHPF"), ("Sony", "SONY"), ("Baidu", "BIDU"), ("Alibaba", "BABA"),
    ("Tencent", "TCEHY"), ("Huawei", None), ("OpenAI", None), ("Anthropic", None), ("CoreWeave", "CRWV"),
    ("Palantir", "PLTR"), ("Snowflake", "SNOW"), ("Uber", "UBER"), ("Boeing", "BA"), ("Airbus", "EADSY"),
    ("Ford", "F"), ("General Motors", "GM"), ("Toyota", "TM"), ("Pfizer", "PFE"), ("Moderna", "MRNA"),
    ("Walmart", "WMT"), ("Costco", "COST"), ("Exxon Mobil", "XOM"), ("Chevron", "CVX"), ("Shell", "SHEL"),
    ("Visa", "V"), ("Mastercard", "MA"), ("PayPal", "PYPL"), ("Disney", "DIS"), ("Comcast", "CMCSA"),
    ("Verizon", "VZ"), ("T-Mobile", "TMUS"), ("Nokia", "NOK"), ("Ericsson", "ERIC"), ("Siemens", "SIEGY"),
    ("Nike", "NKE"), ("Starbucks", "SBUX"), ("Delta Air Lines", "DAL"), ("Caterpillar", "CAT"),
)
"""Well-known companies used as template slot fillers (name, ticker or None)."""

_STEMS = ("Zor", "Hel", "Bright", "North", "Quan", "Sol", "Verid", "Alt", "Kes", "Orb", "Lum", "Cor", "Nov",
          "Tel", "Astra", "Vex", "Cal", "Ner", "Pyr", "Stel", "Mar", "Tan", "Oxi", "Ryn", "Dyn", "Sab", "Gal",
          "Ful", "Har", "Ion", "Jen", "Kal", "Lyr", "Mon", "Ost", "Pal", "Quor", "Rav", "Sen", "Tor")
_ENDS = ("ex", "ion", "wave", "field", "tix", "ara", "ian", "air", "tra", "bis", "en", "tek", "ova", "ra", "is",
         "on", "ium", "ar", "ent", "ix")
_KINDS = ("Systems", "Technologies", "Semiconductor", "Networks", "Cloud", "Labs", "Micro", "Motors", "Pharma",
          "Energy", "Bank", "Foods", "Robotics", "Devices", "Software", "Airlines", "Holdings", "Group", "Inc", "Corp")
BROKERS: tuple[str, ...] = (
    "Morgan Stanley", "Goldman Sachs", "JPMorgan", "Citi", "Barclays", "UBS", "Jefferies", "Bernstein",
    "Mizuho", "Wedbush", "KeyBanc", "Needham", "Evercore", "Raymond James", "Piper Sandler", "BofA",
)


@dataclass(frozen=True)
class Example:
    """One training row: the pair, its label index into :data:`LABELS`, and which source made it."""

    pair: Pair
    label: int
    source: str


def fictional_company(rng: random.Random) -> Target:
    """A made-up company: "Zorex Semiconductor" with aliases "Zorex" and a ticker-like "ZRX"."""
    short = rng.choice(_STEMS) + rng.choice(_ENDS)
    name = f"{short} {rng.choice(_KINDS)}"
    consonants = [c for c in short.upper() if c not in "AEIOU"]
    ticker = "".join([short[0].upper(), *consonants[1:4]])[:4]
    return Target(name, ticker, (short, f"${ticker}"))


def any_company(rng: random.Random) -> Target:
    """Half the time a real company, half a fictional one."""
    if rng.random() < 0.5:
        name, ticker = rng.choice(REAL_COMPANIES)
        return Target(name, ticker, (f"${ticker}",) if ticker else ())
    return fictional_company(rng)


def mention(target: Target, rng: random.Random) -> str:
    """How a headline names the company: mostly its name, sometimes one of its aliases."""
    words = [a for a in target.aliases if not a.startswith("$")]
    return rng.choice(words) if words and rng.random() < 0.3 else target.name


# ----------------------------------------------------------------------------- (a) Twitter targets

_CASHTAG = re.compile(r"\$([A-Za-z]{2,6})\b")
_CAPITAL_WORD = r"[A-Z][\w&.'-]*"
_SPAN = re.compile(rf"(?<![\w$]){_CAPITAL_WORD}(?:\s{_CAPITAL_WORD}){{0,2}}")


def _is_subsequence(needle: str, haystack: str) -> bool:
    letters = iter(haystack)
    return all(ch in letters for ch in needle)


def tweet_target(raw: str, text: str) -> Target | None:
    """The company a tweet is about: the name in ``text`` that spells its first cashtag, else None.

    A name "spells" ticker BYND when it starts with B and contains the letters B, Y, N, D in order
    ("Beyond Meat"); the ticker written as a word ("GM", "$XLNX") counts as the name itself.
    """
    tickers = [t.upper() for t in _CASHTAG.findall(raw)]
    if not tickers:
        return None
    ticker = tickers[0]
    if re.search(rf"(?<![\w]){re.escape(ticker)}\b", text):
        return Target(ticker, ticker, (f"${ticker}",))
    best: str | None = None
    for start in range(len(text)):
        match = _SPAN.match(text, start)
        if not match or (start and text[start - 1].isalnum()):
            continue
        words = match.group(0).split()
        for count in range(1, len(words) + 1):
            span = " ".join(words[:count]).rstrip(".,'-")
            letters = re.sub(r"[^a-z0-9]", "", span.lower())
            if letters[:1] == ticker[0].lower() and _is_subsequence(ticker.lower(), letters):
                if best is None or len(span) < len(best):
                    best = span
                break
    return Target(best, ticker, (f"${ticker}",)) if best else None


NOT_COMPANIES = frozenset(
    "the a an on why how what when where who this these those here there is are will should can top stocks stock "
    "us u.s. u.s u.k uk eu update edited fed wall dow oil gold china trump biden investors analysts markets market breaking watch new "
    "european asian global world bitcoin treasury treasuries traders earnings shares week today it its "
    "moody's fitch s&p nasdaq nyse bloomberg reuters cnbc wsj live video report".split()
) | {b.lower() for b in BROKERS} | frozenset(
    "btig cowen oppenheimer stifel baird rbc nomura berenberg truist benchmark canaccord argus morningstar "
    "credit deutsche wells citigroup bank jefferies bofa jp j.p.".split()
)
_LEADING = re.compile(rf"^({_CAPITAL_WORD}(?:\s{_CAPITAL_WORD}){{0,2}})\s+[a-z0-9]")


def common_words(texts: Sequence[str], minimum: int = 3) -> frozenset[str]:
    """Words written in lower case at least ``minimum`` times: a capitalised one of them starts a sentence, not a name."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in re.findall(r"(?<=\s)[a-z][a-z.'-]*", text):
            counts[word] = counts.get(word, 0) + 1
    return frozenset(w for w, n in counts.items() if n >= minimum)


def subject_target(text: str, common: frozenset[str] = frozenset()) -> Target | None:
    """The company a plain sentence-case headline starts with ("Arrowhead Pharma up 5% after ..."), else None.

    Not when the headline is in title case, or its first word is a common word (``common``), a
    broker or another stop word.
    """
    words = text.split()
    if len(words) < 4 or sum(w[:1].isupper() for w in words) > 0.6 * len(words) or re.search(r"[$#@]", text):
        return None
    match = _LEADING.match(text)
    if not match:
        return None
    name = re.sub(r"'s$", "", match.group(1)).rstrip(".,'-:")
    first = name.split()[0].lower()
    if first in NOT_COMPANIES or first in common or name.lower() in NOT_COMPANIES or len(name) < 2:
        return None
    return Target(name)


def twitter_examples(data: LabelledSet) -> list[Example]:
    """Every non-empty tweet scored for its own company (or the generic target), with its label."""
    rows = []
    texts = [normalize_headline(raw) for raw in data.texts]
    common = common_words(texts)
    for raw, text, label in zip(data.texts, texts, data.labels):
        if text:
            target = tweet_target(raw, text) or subject_target(text, common) or GENERIC
            rows.append(Example(Pair(text, target), label, "twitter"))
    return rows


# ----------------------------------------------------------------------------- (b) composites

_JOINERS = ("{a}; {b}", "{a} while {b}", "{a}, but {b}", "{a} - {b}", "{a}. Meanwhile, {b}", "{a}, even as {b}")


def composite_examples(singles: Sequence[Example], count: int, rng: random.Random) -> list[Example]:
    """``count`` two-company headlines from single-company tweets with different labels, two rows each."""
    named = [e for e in singles if e.pair.target is not GENERIC and len(e.pair.headline) < 120 and not re.search(r"[$#@…]", e.pair.headline)]
    rows: list[Example] = []
    attempts = 0
    while len(rows) < 2 * count and attempts < 50 * count:
        attempts += 1
        first, second = rng.sample(named, 2)
        a, b = first.pair.target, second.pair.target
        if first.label == second.label or a.name.lower() in second.pair.headline.lower() or b.name.lower() in first.pair.headline.lower():
            continue
        headline = rng.choice(_JOINERS).format(a=first.pair.headline.rstrip(". "), b=second.pair.headline)
        rows.append(Example(Pair(headline, a), first.label, "composite"))
        rows.append(Example(Pair(headline, b), second.label, "composite"))
    return rows


# ----------------------------------------------------------------------------- (c) role templates

# Each template: text with {A} {B} {C} (and {broker}, {n}); labels per role in that order.
ROLE_TEMPLATES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("{A} wins {B}'s order over {C}", (POS, NEU, NEG)),
    ("{B} picks {A} over {C} for multibillion-dollar cloud deal", (POS, NEU, NEG)),
    ("{A} takes market share from {B}", (POS, NEG)),
    ("{A} gains ground on {B} as customers switch suppliers", (POS, NEG)),
    ("{A} sues {B} over patent infringement", (NEU, NEG)),
    ("{A} to acquire {B} at a {n}% premium", (NEU, POS)),
    ("{B} shares soar on {A} takeover bid", (NEU, POS)),
    ("{A} cuts prices as {B} ramps production", (NEG, POS)),
    ("{A} beats estimates while {B} misses", (POS, NEG)),
    ("{A} shares jump, {B} slides after results", (POS, NEG)),
    ("{A} upgraded, {B} downgraded at {broker}", (POS, NEG)),
    ("{A} loses {B} contract to {C}", (NEG, NEU, POS)),
    ("{A} recalls faulty chips, handing {B} an opening", (NEG, POS)),
    ("{A} delays product launch, giving {B} a lead", (NEG, POS)),
    ("{A} outperforms {B} in new benchmark tests", (POS, NEG)),
    ("{A} raises guidance; supplier {B} rallies", (POS, POS)),
    ("{A} cuts orders from {B}", (NEU, NEG)),
    ("{A} slashes orders from supplier {B} amid weak demand", (NEG, NEG)),
    ("{A} files for bankruptcy; {B} among biggest creditors", (NEG, NEG)),
    ("{A} and {B} to report earnings this week", (NEU, NEU)),
    ("{A} CEO to join {B} board", (NEU, NEU)),
    ("{A} partners with {B} on AI data centers", (POS, POS)),
    ("{broker} upgrades {A} to buy, cuts {B} to sell", (POS, NEG)),
    ("{broker} raises {A} price target", (POS,)),
    ("{broker} cuts {A} price target on weak demand", (NEG,)),
    ("{A} fined ${n} million by regulators; {B} unaffected", (NEG, NEU)),
    ("{A} hires former {B} executive as finance chief", (NEU, NEU)),
    ("{A} stock falls as {B} wins Pentagon deal", (NEG, POS)),
    ("{A} warns of slowdown, {B} holds forecast", (NEG, NEU)),
    ("{A} posts record revenue; {B} flat", (POS, NEU)),
    ("{A} breaks off merger talks with {B}", (NEU, NEG)),
    ("{B} drops {A} as supplier, shifts orders to {C}", (NEG, NEU, POS)),
    ("{A} undercuts {B} with cheaper chip", (POS, NEG)),
    ("{A} beats {B} to market with next-generation device", (POS, NEG)),
    ("{A} rallies {n}% after {B} deal; {C} little changed", (POS, NEU, NEU)),
    ("{A} unveils chip that rivals {B}'s best", (POS, NEG)),
    ("{A} signs supply agreement with {B}", (POS, NEU)),
    ("{A} loses key customer {B}", (NEG, NEU)),
    ("{A} plunges {n}% as {B} ends partnership", (NEG, NEU)),
    ("{A} settles lawsuit with {B}", (NEU, NEU)),
    ("{A} shares hit record as {B} struggles", (POS, NEG)),
    ("{A} overtakes {B} as world's most valuable chipmaker", (POS, NEG)),
    ("{A} to sell {B} unit to {C}", (NEU, NEU, NEU)),
    ("{A} wins antitrust case brought by {B}", (POS, NEG)),
)

_SLOTS = ("A", "B", "C")


def template_examples(count: int, rng: random.Random) -> list[Example]:
    """``count`` filled role templates, one row per company named."""
    rows: list[Example] = []
    for _ in range(count):
        text, labels = rng.choice(ROLE_TEMPLATES)
        companies: list[Target] = []
        while len(companies) < len(labels):
            company = any_company(rng)
            if all(company.name != c.name for c in companies):
                companies.append(company)
        fill = {slot: mention(c, rng) for slot, c in zip(_SLOTS, companies)}
        headline = text.format(broker=rng.choice(BROKERS), n=rng.randint(2, 40), **{s: fill.get(s, "") for s in _SLOTS})
        rows.extend(Example(Pair(headline, c), label, "template") for c, label in zip(companies, labels))
    return rows


# ----------------------------------------------------------------------------- (d) indirect links

INDIRECT_TEMPLATES: dict[str, tuple[tuple[str, int], ...]] = {
    "competitor": (
        ("{B} wins major data-center order", NEG), ("{B} takes share in AI accelerators", NEG),
        ("{B} launches cheaper rival chip", NEG), ("{B} beats estimates on surging AI demand", NEG),
        ("{B} delays next-generation chip", POS), ("{B} recalls products over defect", POS),
        ("{B} loses major cloud contract", POS), ("{B} cuts outlook as demand fades", POS),
        ("{B} to hold annual shareholder meeting", NEU), ("{B} names new chief financial officer", NEU),
    ),
    "customer": (
        ("{B} raises capital spending plan", POS), ("{B} to double AI infrastructure investment", POS),
        ("{B} places record order for accelerators", POS), ("{B} cuts data-center spending", NEG),
        ("{B} to design its own chips in-house", NEG), ("{B} pauses server purchases", NEG),
        ("{B} moves headquarters", NEU), ("{B} appoints new board member", NEU),
    ),
    "supplier": (
        ("{B} warns of component shortage", NEG), ("{B} raises prices for advanced wafers", NEG),
        ("{B} factory hit by outage", NEG), ("{B} expands production capacity", POS),
        ("{B} cuts prices on memory chips", POS), ("{B} ramps output ahead of schedule", POS),
        ("{B} renames subsidiary", NEU), ("{B} schedules investor day", NEU),
    ),
    "market": (
        ("Demand for {M} surges to record", POS), ("{M} sales beat forecasts", POS),
        ("{M} demand slumps", NEG), ("Cheaper AI model needs far fewer {M}", NEG),
        ("New export curbs hit {M}", NEG), ("Industry group publishes {M} glossary", NEU),
    ),
}
MARKETS: tuple[str, ...] = ("AI chips", "GPUs", "cloud computing", "smartphones", "memory chips", "data centers",
                            "chip equipment", "AI servers", "PCs", "online advertising")


def indirect_examples(count: int, rng: random.Random) -> list[Example]:
    """``count`` headlines naming only a competitor, customer, supplier or market of the target."""
    rows: list[Example] = []
    relations = sorted(INDIRECT_TEMPLATES)
    for _ in range(count):
        relation = rng.choice(relations)
        text, label = rng.choice(INDIRECT_TEMPLATES[relation])
        target = any_company(rng)
        if relation == "market":
            via = rng.choice(MARKETS)
            headline = text.format(M=via)
        else:
            other = any_company(rng)
            while other.name == target.name:
                other = any_company(rng)
            via = mention(other, rng)
            headline = text.format(B=via)
        rows.append(Example(Pair(headline, target, Link("indirect", (via,), relation)), label, "indirect"))
    return rows


# ----------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class Composition:
    """How many rows of each composed source to make from a tweet pool, and the seed."""

    composites: int = 900
    templates: int = 500
    indirect: int = 500
    seed: int = 13
    tweets: int | None = None
    """Tweets kept as rows (a seeded sample; None: all). Composites draw on all of them either way."""


def compose(tweets: LabelledSet, plan: Composition = Composition()) -> list[Example]:
    """Twitter rows plus composed rows, in a seeded shuffled order (same inputs -> same rows)."""
    rng = random.Random(plan.seed)
    singles = twitter_examples(tweets)
    kept = singles if plan.tweets is None else rng.sample(singles, min(plan.tweets, len(singles)))
    rows = kept + composite_examples(singles, plan.composites, rng)
    rows += template_examples(plan.templates, rng) + indirect_examples(plan.indirect, rng)
    rng.shuffle(rows)
    return rows


def source_counts(rows: Sequence[Example]) -> dict[str, int]:
    """Rows per source, for the model card."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.source] = counts.get(row.source, 0) + 1
    return dict(sorted(counts.items()))
