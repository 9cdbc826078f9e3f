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


def test_form_recognised():
    recognised = {o.id: o.form for o in score.score()}
    assert recognised["yunnan-yunnan-yongde-minglang-yingyang-2022"] == "yunnan"
    assert recognised["xianjie-sichuan-zhongjiang-biaochi-2022"] == "xianjie"
    assert recognised["national-anhui-tangxi-weituo-2022"] == "national"
    assert recognised["hubei-huangshi-tushuguan-gongxiang-2022"] == "hubei"
