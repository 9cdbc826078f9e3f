"""The workbook wrapper: evaluates every formula cell of an openpyxl workbook, independently of cached values.

Each distinct shape is compiled once (compiler.py); a shape this engine does
not know (a function outside runtime.LIBRARY, a defined name…) is evaluated
cell by cell with the `formulas` package, with the faithful ROUND registered.

Evaluation order: a formula reads the cells it refers to, and a referenced
formula is evaluated on the spot, inside the one reading it, up to
_MAX_NESTING levels (a template's deepest chain is a handful). Deeper than
that, nothing is evaluated by recursion: the cell is put on an explicit stack
with the chain of cells waiting for it, dependencies on top, and each is
evaluated in turn once what it reads is known. A running total 100 000 rows
long gets its exact value; only a real cycle (a cell that, through any
number of cells, reads itself) is #CIRCULAR!.
"""
from __future__ import annotations

from typing import Iterable

from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from . import runtime as rt
from .compiler import compile_shape, shape_of
from .parser import EXCEL_MAX_COLUMN, EXCEL_MAX_ROW, function_names

CIRCULAR = rt.XlError("#CIRCULAR!")
UNSUPPORTED = rt.XlError("#UNSUPPORTED!")  # never shown to a user: the cell's finding names the function
_MAX_RANGE_CELLS = 1_000_000
# Formulas evaluated inside one another before the next one goes on the explicit stack. Each level
# is about six Python frames: far from the interpreter's recursion limit, whoever the caller is.
_MAX_NESTING = 40


class _Deferred(BaseException):
    """A nested evaluation went too deep: `cells` are to be evaluated first, the deepest first.

    A BaseException, so that no `except Exception` on the way (the `formulas` fallback) swallows it.
    It never leaves FormulaBook: the evaluation it interrupts is started again afterwards.
    """

    def __init__(self, key):
        super().__init__(key)
        self.cells = [key]  # the cell asked for, then each cell that was waiting for it, outwards


def formula_of(cell) -> str | None:
    """The formula text of an openpyxl cell, or None for a constant (a text '=x' stays text)."""
    if cell.data_type != "f":
        return None
    v = cell.value
    if isinstance(v, ArrayFormula):
        return v.text
    return v if isinstance(v, str) and v.startswith("=") else None


class FormulaBook:
    """Values of every cell, formulas evaluated on demand and memoised."""

    def __init__(self, wb, sheets: Iterable[str] | None = None, stored: dict | None = None):
        """stored: sheet → (row, column) → the value the file keeps for a formula cell. A formula this
        engine cannot compute (WEBSERVICE, a new function) then shows that value, as it does in Excel."""
        self.wb = wb
        self.stored = stored or {}
        # (sheet, row, column) → the functions of its formula that could not be computed
        self.uncomputable: dict[tuple[str, int, int], list[str]] = {}
        self.unknown: dict[tuple[str, int, int], list[str]] = {}  # … that are no Excel function: #NAME?
        self.extent: dict[str, tuple[int, int]] = {}
        self.cells: dict[str, dict] = {}
        self.formulas: dict[str, dict[tuple[int, int], str]] = {}
        self.memo: dict[tuple[str, int, int], object] = {}
        self.shapes: dict[str, object] = {}
        self.by_text: dict[tuple[str, int, int], object] = {}  # the same text at the same cell: same function
        self.accessors: dict[str, tuple] = {}
        self.worksheets = {ws.title: ws for ws in wb.worksheets}  # wb[name] is a linear search
        self.fallback_cells = 0
        self.depth = 0  # formulas being evaluated inside one another right now
        self.pending: set[tuple[str, int, int]] = set()  # on the explicit stack, waiting for cells above them
        for name in (sheets if sheets is not None else wb.sheetnames):
            self._load(name)

    def _load(self, name: str) -> None:
        if name in self.cells or name not in self.worksheets:
            return
        ws = self.worksheets[name]
        constants, formulas = {}, {}
        for (r, c), cell in getattr(ws, "_cells", {}).items():
            f = formula_of(cell)
            if f is not None:
                formulas[(r, c)] = f
            elif cell.value is not None:
                constants[(r, c)] = rt.cell_value(cell.value)
        self.cells[name], self.formulas[name] = constants, formulas

    # ---- reading ------------------------------------------------------------------
    def value(self, sheet: str, r: int, c: int):
        key = (sheet, r, c)
        if key in self.memo:
            v = self.memo[key]
            return CIRCULAR if v is _IN_PROGRESS else v
        if sheet not in self.cells:
            self._load(sheet)
            if sheet not in self.cells:
                return rt.REF
        formula = self.formulas[sheet].get((r, c))
        if formula is None:
            return self.cells[sheet].get((r, c))
        if self.pending and key in self.pending:
            return CIRCULAR  # waiting, on the stack, for the cell now reading it: a cycle
        if self.depth == 0:
            try:
                return self._compute(key, formula)
            except _Deferred as deferred:
                return self._evaluate_stack(key, deferred)
        if self.depth >= _MAX_NESTING:
            raise _Deferred(key)
        return self._compute(key, formula)

    def _compute(self, key: tuple[str, int, int], formula: str):
        """Evaluate one formula cell and memoise it (the cells it reads are evaluated inside, up to _MAX_NESTING)."""
        memo = self.memo
        memo[key] = _IN_PROGRESS
        self.depth += 1
        try:
            v = self._evaluate(key[0], key[1], key[2], formula)
        except _Deferred as deferred:
            del memo[key]
            deferred.cells.append(key)
            raise
        except RecursionError:
            # The caller's own stack was already deep: evaluate this cell again from the explicit stack.
            del memo[key]
            if self.depth > 1:
                raise _Deferred(key) from None
            v = CIRCULAR  # not even one formula fits on the stack
        except BaseException:
            del memo[key]
            raise
        finally:
            self.depth -= 1
        memo[key] = v
        return v

    def _evaluate_stack(self, first: tuple[str, int, int], deferred: _Deferred):
        """Evaluate first, whose chain of formulas went deeper than _MAX_NESTING, with an explicit stack.

        Each cell on the stack waits for the one above it (it needs it, directly or through cells in
        between), so a cell that reads a cell lower on the stack closes a real cycle: it reads #CIRCULAR!.
        """
        stack = [first]
        pending = self.pending
        pending.add(first)
        try:
            while True:
                # deferred.cells: the cell asked for, then the cells waiting for it out to the top of the stack.
                for key in reversed(deferred.cells[:-1]):
                    stack.append(key)
                    pending.add(key)
                while stack:
                    key = stack[-1]
                    if key in self.memo and self.memo[key] is not _IN_PROGRESS:
                        stack.pop()
                        pending.discard(key)
                        continue
                    try:
                        self._compute(key, self.formulas[key[0]][key[1:]])
                    except _Deferred as again:
                        deferred = again
                        break
                    stack.pop()
                    pending.discard(key)
                else:
                    return self.memo[first]
        finally:
            pending.difference_update(stack)

    def area(self, sheet: str, r1: int, c1: int, r2: int, c2: int) -> list:
        r1, r2 = sorted((r1, r2))
        c1, c2 = sorted((c1, c2))
        if r2 >= EXCEL_MAX_ROW or c2 >= EXCEL_MAX_COLUMN:
            # A whole column (E:E) or row: the cells past the sheet's last one are empty, as Excel reads them.
            last_row, last_col = self._extent(sheet)
            r2 = min(r2, max(last_row, r1)) if r2 >= EXCEL_MAX_ROW else r2
            c2 = min(c2, max(last_col, c1)) if c2 >= EXCEL_MAX_COLUMN else c2
        if (r2 - r1 + 1) * (c2 - c1 + 1) > _MAX_RANGE_CELLS:
            raise rt.Unsupported("range too large")
        return [self.value(sheet, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]

    def _extent(self, sheet: str) -> tuple[int, int]:
        """The last row and column holding a value or a formula."""
        if sheet not in self.extent:
            self._load(sheet)
            keys = [*self.cells.get(sheet, {}), *self.formulas.get(sheet, {})]
            self.extent[sheet] = (max((r for r, _ in keys), default=1), max((c for _, c in keys), default=1))
        return self.extent[sheet]

    def number_format(self, sheet: str, r: int, c: int) -> str | None:
        ws = self.worksheets.get(sheet)
        if ws is None:
            return None
        cell = ws._cells.get((r, c))
        if cell is None and hasattr(ws, "number_format_at"):
            return ws.number_format_at(r, c)  # a Book keeps an empty cell's format apart from its cells
        return cell.number_format if cell is not None else None

    # ---- evaluating ---------------------------------------------------------------
    def evaluate(self, sheet: str, r: int, c: int, formula: str):
        """What formula would give at sheet!(r, c), whatever that cell holds now."""
        self._load(sheet)
        return self._evaluate(sheet, r, c, formula)

    def _compiled(self, formula: str, r: int, c: int):
        key = (formula, r, c)
        fn = self.by_text.get(key)
        if fn is None:
            shape = shape_of(formula, r, c)
            fn = self.shapes.get(shape)
            if fn is None:
                try:
                    fn = compile_shape(formula, r, c)
                except Exception:  # unknown function, syntax the parser lacks: evaluate with `formulas`
                    fn = _FALLBACK
                self.shapes[shape] = fn
            self.by_text[key] = fn
        return fn

    def _accessors(self, sheet: str) -> tuple:
        acc = self.accessors.get(sheet)
        if acc is None:
            value, area = self.value, self.area
            acc = (lambda row, col: value(sheet, row, col),
                   lambda r1, c1, r2, c2: area(sheet, r1, c1, r2, c2),
                   value, area,
                   lambda other, row, col: self.number_format(other or sheet, row, col))
            self.accessors[sheet] = acc
        return acc

    def _evaluate(self, sheet: str, r: int, c: int, formula: str):
        fn = self._compiled(formula, r, c)
        if fn is _FALLBACK:
            return self._fallback(sheet, r, c, formula)
        try:
            return fn(r, c, *self._accessors(sheet))
        except rt.Unsupported:
            self.by_text[(formula, r, c)] = _FALLBACK
            return self._fallback(sheet, r, c, formula)

    def _fallback(self, sheet: str, r: int, c: int, formula: str):
        """The `formulas` package's value; for what neither engine computes, what Excel would show:
        #NAME? for a name that is no Excel function (a typo), else the value the file keeps (or UNSUPPORTED)."""
        v = self._with_formulas(sheet, formula)
        if v != UNSUPPORTED:
            return v
        names = [n for n in function_names(formula) if not _computable(n)]  # [] : no function is to blame
        own = self.formulas.get(sheet, {}).get((r, c)) == formula  # not evaluate()'s "what would it give"
        unknown = [n for n in names if not is_excel_function(n)]
        if unknown:
            if own:
                self.unknown[(sheet, r, c)] = unknown
            return rt.NAME
        if own:
            self.uncomputable[(sheet, r, c)] = names
            kept = self.stored.get(sheet, {}).get((r, c))
            if kept is not None:
                return kept if isinstance(kept, rt.XlError) else rt.cell_value(kept)
        return UNSUPPORTED

    def _with_formulas(self, sheet: str, formula: str):
        """Evaluate one cell with the `formulas` package (faithful ROUND registered)."""
        import numpy as np

        from .functions import register_with_formulas
        from .parser import _reference

        register_with_formulas()
        try:
            import formulas

            func = formulas.Parser().ast(formula)[1].compile()
            inputs = []
            for name in func.inputs:
                ref = _reference(name, 0, 0)
                if hasattr(ref, "first"):
                    a, b = ref.first, ref.last
                    target = a.sheet or sheet
                    rows = abs(b.row - a.row) + 1
                    values = self._read(self.area, target, a.row, a.col, b.row, b.col)
                    arr = np.array([_to_formulas(v) for v in values], dtype=object).reshape(rows, -1)
                    inputs.append(arr)
                else:
                    inputs.append(_to_formulas(self._read(self.value, ref.sheet or sheet, ref.row, ref.col)))
            self.fallback_cells += 1  # counted once, even when reading its inputs had to wait for the stack
            result = func(*inputs)
        except _InputsTooDeep as exc:
            raise exc.error from None
        except Exception:
            return UNSUPPORTED
        return _from_formulas(result)

    @staticmethod
    def _read(reader, *args):
        """A fallback formula's input: running out of stack while evaluating it is no #UNSUPPORTED!."""
        try:
            return reader(*args)
        except RecursionError as exc:
            raise _InputsTooDeep(exc) from None

    def evaluate_sheet(self, sheet: str) -> dict[tuple[int, int], object]:
        self._load(sheet)
        return {(r, c): self.value(sheet, r, c) for (r, c) in self.formulas.get(sheet, {})}


_IN_PROGRESS = object()
_FALLBACK = object()


class _InputsTooDeep(Exception):
    def __init__(self, error: RecursionError):
        super().__init__()
        self.error = error


def _to_formulas(v):
    from formulas.tokens.operand import XlError as FXlError  # noqa: F401

    if isinstance(v, rt.XlError):
        import formulas

        return formulas.Error.errors.get(v.code, v.code)
    if v is None:
        import formulas

        return formulas.functions.EMPTY if hasattr(formulas.functions, "EMPTY") else 0
    return v


def _from_formulas(result):
    import numpy as np

    if isinstance(result, np.ndarray):
        result = result.ravel()[0] if result.size else None
    if isinstance(result, (np.floating, np.integer)):
        return float(result)
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    if isinstance(result, (bool, np.bool_)):
        return bool(result)
    if isinstance(result, str):
        return result
    text = str(result)
    if text.startswith("#"):
        return rt.ERRORS.get(text, rt.XlError(text))
    return text


def cell_name(r: int, c: int) -> str:
    return f"{get_column_letter(c)}{r}"


# Functions Excel added after 2007: a file stores them with an _xlfn. prefix (the parser drops it), but a
# workbook written by another program may not. Excel knows them, so they are no typo.
_NEWER_EXCEL_FUNCTIONS = frozenset("""
AGGREGATE ARABIC BASE BITAND BITLSHIFT BITOR BITRSHIFT BITXOR BYCOL BYROW CEILING.MATH CHOOSECOLS CHOOSEROWS CONCAT
DAYS DECIMAL DROP ENCODEURL EXPAND FILTER FILTERXML FLOOR.MATH FORMULATEXT HSTACK IFNA IFS IMAGE ISFORMULA ISOWEEKNUM
LAMBDA LET MAKEARRAY MAP MAXIFS MINIFS NUMBERVALUE RANDARRAY REDUCE SCAN SEQUENCE SHEET SHEETS SORT SORTBY SWITCH TAKE
TEXTAFTER TEXTBEFORE TEXTJOIN TEXTSPLIT TOCOL TOROW UNICHAR UNICODE UNIQUE VSTACK WEBSERVICE WRAPCOLS WRAPROWS XLOOKUP
XMATCH XOR STOCKHISTORY
""".split())


def is_excel_function(name: str) -> bool:
    """A function name Excel knows (the list openpyxl keeps, newer ones, anything the file marks _xlfn.)."""
    from openpyxl.utils.formulas import FORMULAE

    upper = name.upper()
    if upper.startswith("_XLFN.") or upper.startswith("_XLWS."):
        return True
    return upper in FORMULAE or upper in _NEWER_EXCEL_FUNCTIONS or _computable(upper)


def _computable(name: str) -> bool:
    """A function this engine or the `formulas` package evaluates."""
    import formulas

    upper = name.upper()
    for prefix in ("_XLFN.", "_XLWS."):
        upper = upper.removeprefix(prefix)
    if upper in rt.LIBRARY or upper in ("IF", "CELL", "OFFSET"):
        return True
    known = formulas.get_functions().get(upper)  # a defaultdict: .get never adds the name
    return known is not None and known is not getattr(formulas.functions, "not_implemented", None)
