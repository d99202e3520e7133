"""The one target-aware prompt that every LLM backend (``llm``, ``remote``) scores: what a headline does to ONE company.

A prompt is a shared prefix (instruction and worked examples, identical for every pair, so its KV
cache is computed once) followed by the pair's own block::

    Headline: Boeing cuts 737 output after new safety order
    Company: Spirit AeroSystems
    About: Spirit AeroSystems (SPR): aircraft structures maker; customers Boeing, Airbus.
    Note: The headline does not name Spirit AeroSystems; it concerns Boeing (a customer of Spirit AeroSystems).
    Effect on Spirit AeroSystems:

so that the next token is the label word (`` negative``, `` neutral``, `` positive``). The examples
were written for this project about companies outside the scored universe (so that no dev-set
headline is in the prompt); two of them score one headline for two companies with opposite labels,
three are indirect.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from models.sentiment.text import LABELS, Link, Pair, Target, normalize_headline

INSTRUCTION = (
    "Each news headline below is judged for one company: is it bad news (negative), good news "
    "(positive) or neither (neutral) for that company's stock price? One headline can be good for "
    "one company and bad for another, so judge only the company asked about.\n\n"
)
LABEL_WORDS: tuple[str, str, str] = tuple(" " + label for label in LABELS)  # type: ignore[assignment]
"""What follows ``Effect on <name>:`` in each example, hence the tokens whose probabilities are read."""

MAX_HEADLINE_CHARS = 400
"""A headline is cut to this many characters in the prompt (newswire headlines are far shorter)."""
MAX_PROFILE_CHARS = 320
"""A target's profile is cut to this many characters, so a long profile cannot swamp the headline."""

GENERIC_NAME = "the company"
"""What a pair whose target has no name is asked about (the same generic target the headline-level sets use)."""

_ROLES = {"competitor": ("a competitor", "competitors"), "supplier": ("a supplier", "suppliers"), "customer": ("a customer", "customers")}

_INTEL = Target("Intel", profile="Intel (INTC): chip maker (PC and server processors, foundry); competitors AMD, Qualcomm, TSMC; customers Dell, HP, Lenovo.")
_QUALCOMM = Target("Qualcomm", profile="Qualcomm (QCOM): smartphone chip designer; competitors MediaTek, Intel; customers Apple, Samsung, Xiaomi.")
_SPIRIT = Target("Spirit AeroSystems", profile="Spirit AeroSystems (SPR): aircraft structures maker; customers Boeing, Airbus.")
_MICRON = Target("Micron", profile="Micron (MU): memory chip maker (DRAM, NAND); competitors Samsung, SK Hynix; customers Apple, Dell, Nvidia.")
_ALBEMARLE = Target("Albemarle", profile="Albemarle (ALB): lithium producer; customers battery makers, carmakers.")


@dataclass(frozen=True)
class Example:
    """One worked example of the prefix: a pair and its label."""

    pair: Pair
    label: str


EXAMPLES: tuple[Example, ...] = (
    Example(Pair("Intel loses Apple modem contract to Qualcomm", _QUALCOMM, Link("direct", ("Qualcomm",))), "positive"),
    Example(Pair("Intel loses Apple modem contract to Qualcomm", _INTEL, Link("direct", ("Intel",))), "negative"),
    Example(Pair("Cisco to report fourth-quarter results on August 14", Target("Cisco", profile="Cisco (CSCO): networking equipment maker.")), "neutral"),
    Example(Pair("Boeing cuts 737 output after new safety order", _SPIRIT, Link("indirect", ("Boeing",), "customer")), "negative"),
    Example(Pair("Ford shares jump after record truck sales", Target("Ford", profile="Ford (F): car and truck maker.")), "positive"),
    Example(Pair("Samsung unveils cheaper memory chip, undercutting rivals", _MICRON, Link("indirect", ("Samsung",), "competitor")), "negative"),
    Example(Pair("Qualcomm names new head of investor relations", _INTEL, Link("indirect", ("Qualcomm",), "competitor")), "neutral"),
    Example(Pair("Carmakers lift battery orders as electric-car sales rebound", _ALBEMARLE, Link("indirect", ("carmakers",), "customer")), "positive"),
)


def link_note(target: Target, link: Link | None) -> str:
    """The sentence that explains an indirect link ("" for a direct or unknown one)."""
    if link is None or link.relevance != "indirect":
        return ""
    name = target.name
    if link.relation == "tagged" or not link.via:
        return f"The headline does not name {name}; the news source lists it as concerning {name}."
    via = " and ".join(link.via) if len(link.via) < 3 else ", ".join(link.via[:-1]) + " and " + link.via[-1]
    if link.relation == "market":
        how = f" ({name}'s market)"
    elif link.relation in _ROLES:
        how = f" ({_ROLES[link.relation][len(link.via) > 1]} of {name})"
    else:
        how = f" ({link.relation})" if link.relation else ""
    return f"The headline does not name {name}; it concerns {via}{how}."


def _profile(target: Target) -> str:
    """The target's profile on one line, cut at a clause boundary to at most MAX_PROFILE_CHARS."""
    profile = " ".join(target.profile.split())
    if len(profile) <= MAX_PROFILE_CHARS:
        return profile
    cut = profile[:MAX_PROFILE_CHARS]
    return cut[: cut.rfind(";")] + "." if ";" in cut else cut.rsplit(" ", 1)[0] + " ..."


def pair_block(pair: Pair) -> str:
    """The per-pair part of the prompt, ending with ``Effect on <name>:`` so that the label comes next."""
    headline = normalize_headline(pair.headline)[:MAX_HEADLINE_CHARS]
    name = " ".join(pair.target.name.split()) or GENERIC_NAME
    target = Target(name, pair.target.ticker, pair.target.aliases, pair.target.profile)
    lines = [f"Headline: {headline}", f"Company: {name}"]
    profile = _profile(target)
    if profile:
        lines.append(f"About: {profile}")
    note = link_note(target, pair.link)
    if note:
        lines.append(f"Note: {note}")
    lines.append(f"Effect on {name}:")
    return "\n".join(lines)


def build_prefix() -> str:
    """The shared prefix: instruction and the worked examples, each ending in its label and a blank line."""
    return INSTRUCTION + "".join(f"{pair_block(e.pair)} {e.label}\n\n" for e in EXAMPLES)


def build_prompt(pair: Pair) -> str:
    """The whole prompt for one pair: shared prefix, then the pair's block."""
    return build_prefix() + pair_block(pair)


CONTENT_FREE: tuple[Pair, ...] = tuple(
    Pair(text, Target(GENERIC_NAME)) for text in ("N/A", "[MASK]", "nothing")
)
"""Content-free pairs for contextual calibration: their label distribution estimates the model's prior."""


def prompt_digest() -> str:
    """A short hash of everything that shapes the prompt (prefix, label words, content-free inputs)."""
    parts = [build_prefix(), *LABEL_WORDS, *(pair_block(p) for p in CONTENT_FREE)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
