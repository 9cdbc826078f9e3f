"""The template's live Excel formulas, generated from the rules' own vocabulary.

`template_formulas()` maps every formula cell of an input sheet to its formula.
The builder writes them; the reader compares against them to tell a template
formula (the engine derives the value) from a typed number or a changed formula.
Only functions that Excel, LibreOffice and WPS all support are used.
"""
from __future__ import annotations

from functools import lru_cache

from .. import layout as L
from ..vocabulary import (
    APPROXIMATE_MARKERS,
    COMPLETION_WORDS,
    DIRECTION_POSITIVE,
    DIRECTION_QUALITATIVE,
    DIRECTION_REVERSE,
    BUDGET_INDICATOR_NAME,
    LIST_MARKS_AFTER_NUMBER,
    DEADLINE_MARKERS,
    PERCENT_WORDS,
    PLACEHOLDERS,
    POSITIVE_NAME_WORDS,
    PREFIX_OPERATORS,
    REVERSE_KEYWORDS,
    REVERSE_OPERATORS,
    SUFFIX_OPERATORS,
)

# Excel does not normalise full-width forms the way the Python parser (NFKC) does.
_FULL_WIDTH = {">": "＞", "<": "＜", "=": "＝", "%": "％"}
_MAX_NUMBER_LENGTH = 15
_MAX_TEXT = "32767"  # the most characters a cell holds


def _q(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def _array(words) -> str:
    return "{" + ",".join(_q(w) for w in words) + "}"


def _contains_any(words, ref: str) -> str:
    """TRUE when the text in ref contains one of words.

    SUMPRODUCT forces array evaluation of the inline array; OR(FIND({...})) is
    implicitly intersected to its first element in LibreOffice.
    """
    return f"SUMPRODUCT(--ISNUMBER(FIND({_array(words)},{ref})))>0"


def _equals_any(words, expr: str) -> str:
    return f"SUMPRODUCT(--({expr}={_array(words)}))>0"


def _with_full_width(words) -> list[str]:
    out: list[str] = []
    for w in words:
        for variant in (w, "".join(_FULL_WIDTH.get(ch, ch) for ch in w)):
            if variant not in out:
                out.append(variant)
    return out


def _strip_words() -> list[str]:
    # Full-width forms need no entry: the text goes through ASC() first, like the parser's to_half_width.
    words = [w for w, _ in PREFIX_OPERATORS] + [w for w, _ in SUFFIX_OPERATORS] + list(PERCENT_WORDS)
    return sorted(dict.fromkeys(words), key=len, reverse=True) + [" "]


def _half_width(ref: str) -> str:
    # LibreOffice's ASC() leaves the ideographic space (U+3000) alone; the parser treats it as a space.
    return f'SUBSTITUTE(ASC({ref}),"\u3000"," ")'


def _cleaned(ref: str) -> str:
    expr = f"TRIM({_half_width(ref)})"
    for w in _strip_words():
        expr = f"SUBSTITUTE({expr},{_q(w)},\"\")"
    return expr


DIGITS = tuple("0123456789")
INVALID = "#"  # what the helper number shows for a value the parser reports as invalid


def _number_is_followed_by_text(ref: str) -> str:
    """TRUE when the typed text goes on after its number with another digit or a list mark.

    The parser (values.parse_text) reads "6月份完成宣传片制作;9月份完成文本", "1.各级各部门…" and "10."
    as text: after the leading number comes another digit, or one of LIST_MARKS_AFTER_NUMBER. Here:
    the text without spaces and without a closing parenthetical ("95%以上（含95%）"); its number is the
    run of digits, "," and "." from its first digit (a "x" ends the run within _MAX_NUMBER_LENGTH + 1
    characters); the run must not end in "." or ",", and the rest must hold no digit and, past a percent
    word, must not start with a list mark. Operator, percent and unit words hold no digit, so they need
    not be removed first. The number itself is still read by number_expression's LOOKUP.
    """
    plain = f'SUBSTITUTE(SUBSTITUTE(ASC({ref}),"\u3000","")," ","")'
    text = f'IF(RIGHT({plain},1)=")",LEFT({plain},FIND("(",{plain}&"(")-1),{plain})'
    first = f'MIN(FIND({_array(DIGITS)},{text}&"0123456789"))'
    width = _MAX_NUMBER_LENGTH + 2
    positions = "{" + ",".join(str(i) for i in range(1, width + 1)) + "}"
    number_chars = _q("0123456789.,")
    run = (f'SUMPRODUCT(MIN(ISNUMBER(FIND(MID(MID({text},{first},{width - 1})&"x",{positions},1),{number_chars}))'
           f"*{width + 1}+{positions}))-1")
    tail = f"MID({text},{first}+{run}-1,{_MAX_TEXT})"  # the number's last character and what follows it
    rest = f"MID({tail},2,{_MAX_TEXT})"
    after = rest
    for w in sorted(PERCENT_WORDS, key=len, reverse=True):
        after = f'SUBSTITUTE({after},{_q(w)},"")'
    # "10." and "1," end in a list mark, not a number ("\\.\\d+" needs a digit); ASC() turns 、 into ､.
    marks = list(LIST_MARKS_AFTER_NUMBER) + ["\uff64"]
    # A text that is all parenthetical ("(含95%)") leaves nothing: the parser reads it as text too.
    # (No TRUE literal: LibreOffice saves it as the function TRUE().)
    return (f'IFERROR(--OR({_equals_any((".", ","), f"LEFT({tail},1)")},{_contains_any(DIGITS, rest)},'
            f'{_equals_any(marks, f"LEFT({after},1)")}),1)=1')


def number_expression(ref: str, text_after_number: bool = True) -> str:
    """The leading number of a typed value, as the Python parser reads it.

    A number is taken as it is (×100 in a percent-formatted cell: CELL("format") is "P0", "P2"…);
    text loses its operator, percent and unit words and the longest numeric prefix is taken
    (LOOKUP over LEFT(text, 1..15)). "" for blank or text; "#" for what the parser calls invalid
    (an estimate such as 约90%, a placeholder such as 暂无, an error value).
    """
    prefixes = "{" + ",".join(str(i) for i in range(1, _MAX_NUMBER_LENGTH + 1)) + "}"
    half = f"TRIM({_half_width(ref)})"
    # An estimate is a number with 约/左右…; a sentence without digits (本着节约的原则) is qualitative text.
    estimate = f"AND({_contains_any(APPROXIMATE_MARKERS, half)},{_contains_any(DIGITS, half)})"
    invalid = f"OR({estimate},{_equals_any(sorted(PLACEHOLDERS), half)})"
    return (f'IF(ISERROR({ref}),"{INVALID}",IF(ISNUMBER({ref}),IF(LEFT(CELL("format",{ref}),1)="P",{ref}*100,{ref}),'
            f'IF({half}="","",IF({invalid},"{INVALID}",IF({_contains_any(DEADLINE_MARKERS, half)},"",'
            + (f'IF({_number_is_followed_by_text(ref)},"",' if text_after_number else "")
            + f'IFERROR(LOOKUP(9E+307,--LEFT({_cleaned(ref)},{prefixes})),"")))))'
            + (")" if text_after_number else "") + ")")


def _positive_operator_words() -> list[str]:
    words = [w for w, op in PREFIX_OPERATORS + SUFFIX_OPERATORS if op not in REVERSE_OPERATORS]
    return _with_full_width(words)


def _reverse_operator_words() -> list[str]:
    words = [w for w, op in PREFIX_OPERATORS + SUFFIX_OPERATORS if op in REVERSE_OPERATORS]
    return _with_full_width(words)


def _without_positive_compounds(ref: str) -> str:
    """ref with the positive words that contain a reverse one removed (不低于 contains 低于)."""
    reverse = _reverse_operator_words()
    expr = ref
    for word in sorted(_positive_operator_words(), key=len, reverse=True):
        if any(r in word for r in reverse):
            expr = f'SUBSTITUTE({expr},{_q(word)},"")'
    return expr


def direction_formula(row: int) -> str:
    """指标方向 when the user leaves the drop-down alone (rules.indicator.infer_direction)."""
    c = lambda f: L.indicator_cell(f, row)  # noqa: E731
    target, name, tnum = c("target"), c("level3"), c("target_number")
    target_half = _half_width(target)
    keyword_reverse = (f"AND({_contains_any(REVERSE_KEYWORDS, name)},"
                       f"NOT({_contains_any(POSITIVE_NAME_WORDS, name)}))")
    return (f'=IF(OR({tnum}="{INVALID}",TRIM({target_half})=""),"",IF({tnum}="","{DIRECTION_QUALITATIVE}",'
            f'IF({_contains_any(_reverse_operator_words(), _without_positive_compounds(target_half))},"{DIRECTION_REVERSE}",'
            f'IF({_contains_any(_positive_operator_words(), target_half)},"{DIRECTION_POSITIVE}",'
            f'IF({keyword_reverse},"{DIRECTION_REVERSE}","{DIRECTION_POSITIVE}")))))')


def target_number_formula(row: int, text_after_number: bool = True) -> str:
    return "=" + number_expression(L.indicator_cell("target", row), text_after_number)


def actual_number_formula(row: int, text_after_number: bool = True) -> str:
    actual = L.indicator_cell("actual", row)
    words = _equals_any(COMPLETION_WORDS, f'SUBSTITUTE({_half_width(actual)}," ","")')
    return f'=IF({words},100,{number_expression(actual, text_after_number)})'


@lru_cache(maxsize=None)
def earlier_template_formulas() -> dict[str, str]:
    """cell → the formula earlier xlperf releases wrote there where today's template writes another: the
    helper numbers before they read "6月份完成…" as text (2026-12). A workbook made then still holds them;
    they are the template's own, not a user's change (the cross-check computes them as they stand, so
    a row they read differently from the rules is said at that row, as before)."""
    out = {}
    for row in L.indicator_rows():
        out[L.indicator_cell("target_number", row)] = target_number_formula(row, text_after_number=False)
        out[L.indicator_cell("actual_number", row)] = actual_number_formula(row, text_after_number=False)
    return out


def rate_formula(row: int) -> str:
    """完成率 (rules.indicator.completion_rate), a fraction rounded to 4 places, never negative.

    A row named 预算执行率 scores its 业绩值 against 100% whatever its target (domain.md §4.5).
    """
    c = lambda f: L.indicator_cell(f, row)  # noqa: E731
    d, t, a, name, target = c("direction"), c("target_number"), c("actual_number"), c("level3"), c("target")
    budget = f"ISNUMBER(FIND({_q(BUDGET_INDICATOR_NAME)},{name}))"
    at_least = _contains_any(_at_least_words(), _half_width(target))
    return (f'=IF(OR({a}="",{a}="{INVALID}"),"",IF({budget},ROUND(MAX({a}/100,0),4),IF({d}="","",'
            f'IF({d}="{DIRECTION_QUALITATIVE}",ROUND(MAX({a}/100,0),4),IF(OR({t}="",{t}="{INVALID}"),"",'
            f'IF({d}="{DIRECTION_REVERSE}",IF({a}<=0,1,IF({t}<=0,0,ROUND(MAX({t}/{a},0),4))),'
            f'IF({t}=0,IF(IF({at_least},{a}>=0,{a}<=0),1,0),ROUND(MAX({a}/{t},0),4))))))))')


def _at_least_words() -> list[str]:
    """Operator words meaning ≥ or >: a target of "≥0" is met by any non-negative value."""
    return [w for w, op in PREFIX_OPERATORS + SUFFIX_OPERATORS if op in (">=", ">")]


def score_formula(row: int) -> str:
    """指标得分 = ROUND(权重 × MIN(完成率, 1), 2), never above the weight (rules.indicator.indicator_score)."""
    rate, weight = L.indicator_cell("rate", row), L.indicator_cell("weight", row)
    return (f'=IF(OR({rate}="",NOT(ISNUMBER({weight}))),"",'
            f'MIN(ROUND({weight}*MIN({rate},1),2),ROUNDDOWN({weight},2)))')


def budget_link_formula() -> str:
    """The 预算执行率 业绩值: row (7), column 年度总金额, else 小计, as text like "100.00%"."""
    total, sub = L.budget_cell("execution_rate", "total"), L.budget_cell("execution_rate", "subtotal")
    return (f'=IF(ISNUMBER({total}),TEXT({total},"0.00")&"%",'
            f'IF(ISNUMBER({sub}),TEXT({sub},"0.00")&"%",""))')


def grade_formula(labels: tuple[str, str, str, str], bounds) -> str:
    total = L.TOTAL_SCORE_CELL
    b = [str(x) for x in bounds]
    return (f'=IF({total}="","",IF({total}>={b[0]},"{labels[0]}",IF({total}>={b[1]},"{labels[1]}",'
            f'IF({total}>={b[2]},"{labels[2]}","{labels[3]}"))))')


def _budget_formulas() -> dict[str, str]:
    out: dict[str, str] = {}
    letters = L.BUDGET_COLUMN_LETTERS
    for row in L.BUDGET_AMOUNT_ROWS:
        r = L.BUDGET_ROW_NUMBERS[row]
        out[f"{letters['subtotal']}{r}"] = (f'=IF(COUNT({letters["central"]}{r}:{letters["county"]}{r})=0,"",'
                                            f'SUM({letters["central"]}{r}:{letters["county"]}{r}))')
        parts = ",".join(f"{letters[c]}{r}" for c in ("subtotal", "carryover", "other"))
        out[f"{letters['total']}{r}"] = f'=IF(COUNT({parts})=0,"",SUM({parts}))'
    for col, letter in letters.items():
        annual, received, executed = (f"{letter}{L.BUDGET_ROW_NUMBERS[r]}" for r in ("annual", "received", "executed"))
        out[L.budget_cell("balance", col)] = f'=IF(COUNT({received},{executed})=0,"",N({received})-N({executed}))'
        out[L.budget_cell("arrival_rate", col)] = f'=IF(N({annual})=0,"",ROUND(N({received})/{annual}*100,2))'
        out[L.budget_cell("execution_rate", col)] = f'=IF(N({annual})=0,"",ROUND(N({executed})/{annual}*100,2))'
    return out


@lru_cache(maxsize=None)
def _cached(labels: tuple, bounds: tuple) -> dict[str, str]:
    out = _budget_formulas()
    for row in L.indicator_rows():
        out[L.indicator_cell("direction", row)] = direction_formula(row)
        out[L.indicator_cell("target_number", row)] = target_number_formula(row)
        out[L.indicator_cell("actual_number", row)] = actual_number_formula(row)
        out[L.indicator_cell("rate", row)] = rate_formula(row)
        out[L.indicator_cell("score", row)] = score_formula(row)
    out[L.indicator_cell("actual", L.BUDGET_INDICATOR_ROW)] = budget_link_formula()
    first, last = L.INDICATOR_FIRST_ROW, L.INDICATOR_LAST_ROW
    w, s = L.INDICATOR_COLUMN_LETTERS["weight"], L.INDICATOR_COLUMN_LETTERS["score"]
    out[L.WEIGHT_TOTAL_CELL] = f"=SUM({w}{first}:{w}{last})"
    # Nothing scored yet (a blank sheet): no 总得分 and no 评价等级, never "0.00 差".
    out[L.TOTAL_SCORE_CELL] = f'=IF(COUNT({s}{first}:{s}{last})=0,"",ROUND(SUM({s}{first}:{s}{last}),2))'
    out[L.GRADE_CELL] = grade_formula(labels, bounds)
    return out


def template_formulas(profile=None) -> dict[str, str]:
    """Every formula cell of an input sheet → its formula text (with the leading '=')."""
    from ..profiles import load_profile

    profile = profile or load_profile()
    return _cached(tuple(profile.grade_labels), tuple(profile.grade_bounds))


# Cells that hold a template formula but are input cells the user may overwrite.
OVERWRITABLE_FORMULA_FIELDS = ("direction",)


def overwritable_formula_cells() -> set[str]:
    cells = {L.indicator_cell("direction", r) for r in L.indicator_rows()}
    cells.add(L.indicator_cell("actual", L.BUDGET_INDICATOR_ROW))
    return cells
