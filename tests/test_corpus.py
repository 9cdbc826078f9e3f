"""The corpus of real published tables (tests/corpus/): `check` finds every table, recomputes every
complete table's total and grade exactly, flags every wrong published cell at its cell, and raises no
error on a cell that is right. Each source is described in tests/corpus/README.md."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))

import build  # noqa: E402
import score  # noqa: E402

SOURCES = sorted((CORPUS / "src").glob("*.toml"))


def test_corpus_is_there():
    assert len(SOURCES) >= 9
    families = {tomllib.loads(p.read_text("utf-8"))["source"]["family"] for p in SOURCES}
    assert {"national", "yunnan", "xianjie", "hubei"} <= families


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_committed_workbook_is_built_from_its_source(source):
    built = CORPUS / f"{source.stem}.xlsx"
    assert built.exists(), f"run python tests/corpus/build.py {source.stem}"
    assert built.read_bytes() == build.workbook_bytes(build.load(source))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_source_has_provenance(source):
    meta = tomllib.loads(source.read_text("utf-8"))["source"]
    assert meta["url"].startswith(("http://", "https://"))
    for key in ("unit", "project", "province", "year", "family"):
        assert meta[key], key


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_check_agrees_with_the_hand_verdict(source):
    outcome = score.score_one(source)
    assert outcome.found, "no table found"
    assert outcome.total_ok is not False, outcome.detail
    assert outcome.missed == [], outcome.detail
    assert outcome.false_errors == [], outcome.detail
    assert outcome.judgements_missed == [], outcome.detail


@pytest.mark.parametrize("expected, correct, same", [
    ("95.86%", "0.959", True), ("95.9%", "0.959", True), ("100.00%", "100%", True), ("1.9", "1.90", True),
    ("100", "100 (with the budget block's 10: 110)", True), ("9.3", "9.29", False), ("9.28", "9.29", False),
    ("95.86%", "0.958", False), ("10", "10%", False), (None, "10", False),
])
def test_a_finding_agrees_with_the_correct_value_at_its_precision(expected, correct, same):
    assert score.agrees(expected, correct) is same


def _edited_source(tmp_path: Path, stem: str, old: str, new: str) -> Path:
    """A copy of a source with one edit; it keeps its name, so it is scored on the committed workbook."""
    text = (CORPUS / "src" / f"{stem}.toml").read_text("utf-8")
    assert text.count(old) == 1
    edited = tmp_path / f"{stem}.toml"
    edited.write_text(text.replace(old, new), "utf-8")
    return edited


def test_a_wrong_cell_flagged_with_another_value_is_not_found(tmp_path):
    """C6 is flagged (total-mismatch, 应为 90); a hand verdict of 91 makes that a miss, not a find."""
    source = _edited_source(tmp_path, "national-anhui-tangxi-weituo-2022", 'correct = "90"\n', 'correct = "91"\n')
    outcome = score.score_one(source)
    assert outcome.missed == ["C6"] and not outcome.ok
    assert any("C6" in line and "91" in line for line in outcome.detail)


def test_a_judgement_cell_without_a_warning_fails_the_table(tmp_path):
    source = _edited_source(tmp_path, "national-hebei-langfang-shipin-2019", "[[expected.judgement]]\n",
                            '[[expected.judgement]]\ncell = "A1"\nwhy = "no warning there"\n\n[[expected.judgement]]\n')
    outcome = score.score_one(source)
    assert outcome.judgements_missed == ["A1"] and not outcome.ok


def test_form_recognised():
    recognised = {o.id: o.form for o in score.score()}
    assert recognised["yunnan-yunnan-yongde-minglang-yingyang-2022"] == "yunnan"
    assert recognised["xianjie-sichuan-zhongjiang-biaochi-2022"] == "xianjie"
    assert recognised["national-anhui-tangxi-weituo-2022"] == "national"
    assert recognised["hubei-huangshi-tushuguan-gongxiang-2022"] == "hubei"
