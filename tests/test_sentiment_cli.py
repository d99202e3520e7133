"""`impact sentiment classify` and `eval` with the real default model: pairs in, per-company answers out, clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def _json(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_classify_rejects_an_unknown_ticker_with_a_suggestion():
    result = runner.invoke(app, ["sentiment", "classify", "-", "--ticker", "NVDX"], input="Nvidia rallies\n")
    assert result.exit_code == 1
    assert "unknown ticker 'NVDX'" in result.output and "did you mean NVDA" in result.output
    assert "Traceback" not in result.output


def test_classify_tsv_pairs_relevance_and_the_target_changes_the_answer():
    headline = "AMD wins Microsoft AI-chip order"
    lines = "".join(f"{text}\t{ticker}\n" for text, ticker in [
        (headline, "AMD"), (headline, "NVDA"), ("Ford recalls 10,000 trucks", "NVDA"), ("", "META"), ("x" * 10_000, "MSFT"),
    ])
    rows = _json(runner.invoke(app, ["sentiment", "classify", "-", "--format", "json"], input=lines))
    assert [(r["headline"][:20], r["ticker"]) for r in rows] == [
        (headline[:20], "AMD"), (headline[:20], "NVDA"), ("Ford recalls 10,000 ", "NVDA"), ("", "META"), ("x" * 20, "MSFT")]
    amd, nvda, ford, empty, long = rows
    assert (amd["relevance"], nvda["relevance"], nvda["relation"]) == ("direct", "indirect", "competitor")
    assert (amd["label"], nvda["label"]) == ("positive", "negative")  # a rival's win is bad news for Nvidia
    assert (ford["relevance"], ford["label"], ford["score"], ford["p_neutral"]) == ("none", "neutral", 0.0, 1.0)
    assert (empty["relevance"], empty["label"], empty["score"]) == ("none", "neutral", 0.0)
    assert long["relevance"] == "none" and long["label"] == "neutral"
    for row in rows:
        assert row["p_negative"] + row["p_neutral"] + row["p_positive"] == pytest.approx(1.0)


def test_classify_tsv_header_and_a_line_without_ticker():
    result = runner.invoke(app, ["sentiment", "classify", "-", "--ticker", "NVDA"], input="Nvidia beats estimates\n")
    assert result.exit_code == 0, result.output
    header, line = result.stdout.strip().splitlines()
    assert header.split("\t") == ["headline", "ticker", "relevance", "relation", "label", "p_negative", "p_neutral",
                                  "p_positive", "score"]
    assert line.split("\t")[:3] == ["Nvidia beats estimates", "NVDA", "direct"]
    bad = runner.invoke(app, ["sentiment", "classify", "-"], input="no tab here\n")
    assert bad.exit_code == 1 and "line 1" in bad.output and "--ticker" in bad.output


def test_eval_reads_a_user_file_and_reports_conflicting_headlines(tmp_path):
    data = tmp_path / "mine.tsv"
    data.write_text("headline\tentity\tlabel\n"
                    "Acme beats estimates as Zeta misses\tAcme\tpositive\n"
                    "Acme beats estimates as Zeta misses\tZeta\tnegative\n"
                    "Omni to hold its annual meeting in May\tOmni\tneutral\n", encoding="utf-8")
    rows = _json(runner.invoke(app, ["sentiment", "eval", "--set", str(data), "--format", "json"]))
    assert rows[0]["set"] == "mine.tsv" and rows[0]["n"] == 3 and rows[0]["conflict_n"] == 2
    missing = runner.invoke(app, ["sentiment", "eval", "--set", str(tmp_path / "nope.tsv")])
    assert missing.exit_code == 1 and "nope.tsv" in missing.output and "Traceback" not in missing.output
