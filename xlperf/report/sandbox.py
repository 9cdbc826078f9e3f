"""The Jinja environment a 自评报告模板.docx is rendered in: a template is data, never a program.

A unit's template (beside the workbook or ``--template``) comes from anyone. It is rendered in
`jinja2.sandbox.ImmutableSandboxedEnvironment` (no ``__class__``/``__globals__`` walks, no calls of
unsafe callables, no mutation of lists and dicts), narrowed further to what a report needs, with every
cost bounded, on every platform (no signals, no child process):

* attributes: the sandbox's rules, and on str/int/float/list/dict only the methods that cannot grow a
  value (``upper``, ``strip``, ``split``, ``startswith``, ``keys``, ``items``…; not ``ljust``, ``zfill``,
  ``replace``, ``join``, ``format``, ``to_bytes``…);
* values: every string or sequence a template makes (``*``, ``+``, ``%``, ``~``, the filters that can
  grow text: center, indent, wordwrap, format, replace, join, batch, slice) is checked *before* it is made
  to stay within MAX_VALUE characters as text; integers within MAX_INT_BITS; ``range()`` within MAX_RANGE
  items; ``lipsum()`` small;
* work: every loop iteration, call, attribute or item lookup and intercepted operator is a step; a render
  stops after MAX_STEPS steps or MAX_SECONDS seconds;
* output: each rendered part (the body, a header, a property…) at most MAX_OUTPUT characters.

A template that breaks a rule raises `TemplateLimit` (a jinja2 SecurityError), which
`xlperf.report.document` reports in Chinese with the template's name and the place.
"""
from __future__ import annotations

import re
import time

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

# module constants so that tests can lower them
MAX_VALUE = 2_000_000  # characters of one value as text; a report's longest text is a few 10 KB
MAX_OUTPUT = 64_000_000  # characters of one rendered part; the body of a real report is well under 1 MB
MAX_RANGE = 10_000  # items of range(); a report loops over tens of rows
MAX_INT_BITS = 100_000  # an integer a template computes (about 30 000 digits)
MAX_STEPS = 2_000_000  # loop iterations, calls, lookups of one report; a real one takes a few thousand
MAX_SECONDS = 20.0  # wall time of one report's rendering
CLOCK_EVERY = 1024  # steps between looks at the clock

LOOP_FILTER = "xlperf_counted_loop"
ESCAPED = "&<>\"'"  # what HTML autoescaping lengthens: each to at most 5 characters (&#39;)
ESCAPE_GROWTH = 4

SAFE_METHODS = {
    str: frozenset({"upper", "lower", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip",
                    "split", "rsplit", "splitlines", "partition", "rpartition", "startswith", "endswith",
                    "removeprefix", "removesuffix", "find", "rfind", "index", "rindex", "count",
                    "isdigit", "isnumeric", "isdecimal", "isalpha", "isalnum", "isspace", "islower", "isupper",
                    "istitle", "striptags", "unescape"}),
    int: frozenset({"real", "imag", "numerator", "denominator", "bit_length", "is_integer"}),
    float: frozenset({"real", "imag", "is_integer"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"keys", "values", "items", "get"}),
}


class TemplateLimit(SecurityError):
    """The template asked for something a report template may not do; str(exc) is Chinese."""


def rendered_size(value, limit: int = MAX_VALUE) -> int:
    """About how many characters str(value) has (an upper estimate for text, numbers and containers),
    counted without making that text; stops once past limit. Shared items are counted each time they
    appear, as str() writes them each time."""
    total = 0
    known: dict[int, int] = {}
    stack = [iter((value,))]
    while stack:
        try:
            v = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if isinstance(v, str):
            escaped = ESCAPE_GROWTH * sum(v.count(c) for c in ESCAPED)  # what autoescape adds (' → &#39;)
            if len(stack) == 1:  # the value itself: its own text
                total += len(v) + escaped
            elif v.isprintable():  # an item: repr() quotes it and escapes backslashes and quotes
                total += len(v) + v.count("\\") + v.count("'") + escaped + 2
            else:  # control characters: up to \U0001xxxx each
                total += 10 * len(v) + 2
        elif v is None or isinstance(v, bool):
            total += 5
        elif isinstance(v, int):
            total += v.bit_length() // 3 + 2
        elif isinstance(v, float):
            total += 32
        elif isinstance(v, dict):
            total += 24 * len(v) + 2  # quotes (each &#39; when escaped), ': ' and ', '
            stack.append(iter(v.items()))
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += 12 * len(v) + 2  # quotes (each &#39; when escaped) and ', '
            if len(stack) > 100:  # nested deeper than any report's data: str() would recurse as deep
                return limit + 1
            stack.append(iter(v))
        elif isinstance(v, range):
            total += 40
        else:  # xlperf's own data (dataclasses), jinja's helpers: str() of them is bounded; measured once
            key = id(v)
            if key not in known:
                try:
                    known[key] = len(repr(v))
                except Exception:
                    known[key] = 64
            total += known[key]
        if total > limit:
            return total
    return total


def _too_big(what: str) -> TemplateLimit:
    return TemplateLimit(f"{what}超过上限（{MAX_VALUE} 个字符）")


def check_size(value, what: str = "生成的文字"):
    if rendered_size(value) > MAX_VALUE:
        raise _too_big(what)
    return value


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(fmt: str, args) -> None:
    """fmt % args stays within MAX_VALUE: no '*' widths, widths and precisions counted."""
    grow = 0
    for m in _PERCENT_SPEC.finditer(fmt):
        for part in m.groups():
            if part == "*":
                raise TemplateLimit("格式字符串中不能用“*”给出宽度")
            if part:
                grow += int(part) if len(part) < 10 else MAX_VALUE + 1
    if len(fmt) + grow + rendered_size(args) > MAX_VALUE:
        raise _too_big("格式化后的文字")


class _CountedLoops(CodeGenerator):
    """Code of a template whose every {% for %} draws from the render's step budget, and whose every ``~``
    checks the joined text's size before joining."""

    def visit_Template(self, node, frame=None):
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, LOOP_FILTER, [], [], None, None, lineno=loop.iter.lineno)
        return super().visit_Template(node, frame)

    def visit_Concat(self, node, frame):
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.bounded_parts((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


class ReportSandbox(ImmutableSandboxedEnvironment):
    """One report's rendering environment (its step budget and clock start when it is made)."""

    code_generator_class = _CountedLoops
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self.finalize = self._finalize
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum
        self.filters[LOOP_FILTER] = self._loop
        for name in ("center", "indent", "wordwrap", "format", "replace", "join", "batch", "slice"):
            self.filters[name] = _bounded_filter(name, self.filters[name])

    # ---- the budget ---------------------------------------------------------------------
    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateLimit(f"运算步数超过上限（{MAX_STEPS} 步，可能是过大或嵌套过深的循环）")
        if self.steps % CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise TemplateLimit(f"运行时间超过上限（{MAX_SECONDS:g} 秒）")

    def _loop(self, iterable):
        for item in iterable:
            self.step()
            yield item

    def getattr(self, obj, attribute):
        self.step()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        self.step()
        return super().getitem(obj, argument)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (jinja's own signature)
        __self.step()
        return super().call(__context, __obj, *args, **kwargs)

    # ---- what may be touched ----------------------------------------------------------------
    def is_safe_attribute(self, obj, attr, value) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, bytes | bytearray):
            return False
        for kind, allowed in SAFE_METHODS.items():  # a bool is an int, a Markup a str
            if isinstance(obj, kind):
                return attr in allowed
        return True

    def unsafe_undefined(self, obj, attribute):
        """Refused at once (jinja's sandbox gives an undefined that renders as nothing until it is used)."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe.")

    # ---- sizes ------------------------------------------------------------------------------
    def call_binop(self, context, operator, left, right):
        self.step()
        if operator == "*":
            seq, n = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, str | list | tuple) and isinstance(n, int) and not isinstance(n, bool):
                if n > 0 and rendered_size(seq) * n > MAX_VALUE:
                    raise _too_big("重复后的文字或列表")
            elif isinstance(left, int) and isinstance(right, int):
                if abs(left).bit_length() + abs(right).bit_length() > MAX_INT_BITS:
                    raise TemplateLimit(f"整数超过上限（{MAX_INT_BITS} 位）")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left) > 1 and max(abs(left).bit_length() - 1, 1) * right > MAX_INT_BITS:
                    raise TemplateLimit(f"整数超过上限（{MAX_INT_BITS} 位）")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                if rendered_size(left) + rendered_size(right) > MAX_VALUE:
                    raise _too_big("相加后的文字或列表")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def bounded_parts(self, parts: tuple) -> tuple:
        self.step()
        if sum(rendered_size(p) for p in parts) > MAX_VALUE:
            raise _too_big("用“~”连接的文字")
        return parts

    def _finalize(self, value):
        return check_size(value, "输出的值")

    def _range(self, *args):
        self.step()
        if not args or len(args) > 3 or not all(isinstance(a, int) for a in args):
            raise TemplateLimit("range() 只接受 1 到 3 个整数")
        if any(abs(a).bit_length() > 64 for a in args) or len(range(*args)) > MAX_RANGE:
            raise TemplateLimit(f"range() 最多 {MAX_RANGE} 项")
        return range(*args)

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100):  # noqa: A002 (jinja's names)
        self.step()
        if _int(n) > 20 or _int(max) > 200 or _int(min) > 200:
            raise TemplateLimit("lipsum() 最多 20 段、每段 200 词")
        return generate_lorem_ipsum(n=_int(n, 5), html=html, min=_int(min, 20), max=_int(max, 100))


def _bounded_filter(name: str, original):
    """original (a jinja filter that can grow text), refusing arguments whose result would pass MAX_VALUE."""
    check = _FILTER_CHECKS[name]

    def bounded(*args, **kwargs):
        # environment / eval-context filters get that first: the value follows it
        offset = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0
        check(*args[offset:], **kwargs)
        return original(*args, **kwargs)

    bounded.jinja_pass_arg = getattr(original, "jinja_pass_arg", None)
    return bounded


def _text(value) -> str:
    check_size(value)
    return str(value)


def _check_center(value, width=80, *_a, **_k):
    if max(len(_text(value)), _int(width)) > MAX_VALUE:
        raise _too_big("center 的结果")


def _check_indent(s, width=4, first=False, blank=False, *_a, **_k):
    text = _text(s)
    w = len(width) if isinstance(width, str) else _int(width)
    if len(text) + (text.count("\n") + 1) * max(w, 0) > MAX_VALUE:
        raise _too_big("indent 的结果")


def _check_wordwrap(s, width=79, break_long_words=True, wrapstring=None, *_a, **_k):
    text = _text(s)
    wrap = len(_text(wrapstring)) if wrapstring is not None else 2
    if len(text) + (len(text) // max(_int(width, 79), 1) + 1) * wrap > MAX_VALUE:
        raise _too_big("wordwrap 的结果")


def _check_format(value, *args, **kwargs):
    _check_percent_format(_text(value), (args, kwargs))


def _check_replace(s, old, new, count=None, *_a, **_k):
    text, old, new = _text(s), _text(old), _text(new)
    times = len(text) + 1 if not old else len(text) // len(old)
    if count is not None and _int(count, -1) >= 0:
        times = min(times, _int(count))
    if len(text) + times * len(new) > MAX_VALUE:
        raise _too_big("replace 的结果")


def _check_join(value, d="", attribute=None, *_a, **_k):
    items = value if isinstance(value, list | tuple | str | range) else None
    if items is None:
        return  # an iterator: join takes what it gives (all of it bounded by the step budget's loops)
    if rendered_size(items) + max(len(items) - 1, 0) * len(_text(d)) > MAX_VALUE:
        raise _too_big("join 的结果")


def _check_batch(value, linecount, fill_with=None, *_a, **_k):
    if _int(linecount) > MAX_RANGE:
        raise TemplateLimit(f"batch 每组最多 {MAX_RANGE} 项")
    if fill_with is not None and rendered_size(value) + _int(linecount) * rendered_size(fill_with) > MAX_VALUE:
        raise _too_big("batch 的结果")


def _check_slice(value, slices, fill_with=None, *_a, **_k):
    if _int(slices) > MAX_RANGE:
        raise TemplateLimit(f"slice 最多分 {MAX_RANGE} 组")
    if fill_with is not None and rendered_size(value) + _int(slices) * rendered_size(fill_with) > MAX_VALUE:
        raise _too_big("slice 的结果")


_FILTER_CHECKS = {"center": _check_center, "indent": _check_indent, "wordwrap": _check_wordwrap,
                  "format": _check_format, "replace": _check_replace, "join": _check_join,
                  "batch": _check_batch, "slice": _check_slice}


def bounded_template_class(base):
    """base (an environment's Template class) whose render stops once the output passes MAX_OUTPUT."""

    class BoundedTemplate(base):
        def render(self, *args, **kwargs) -> str:
            ctx = self.new_context(dict(*args, **kwargs))
            parts, size = [], 0
            try:
                for chunk in self.root_render_func(ctx):
                    size += len(chunk)
                    if size > MAX_OUTPUT:
                        raise TemplateLimit(f"生成的内容超过上限（{MAX_OUTPUT} 个字符）")
                    parts.append(chunk)
            except Exception:
                self.environment.handle_exception()
            return "".join(parts)

    return BoundedTemplate


def report_environment(autoescape: bool) -> ReportSandbox:
    env = ReportSandbox(autoescape=autoescape)
    env.template_class = bounded_template_class(env.template_class)
    return env
