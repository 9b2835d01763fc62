"""Band-math expressions, parsed with :mod:`ast` and evaluated without ``eval``.

An expression such as ``(B08 - B04) / (B08 + B04 + 0.5) * 1.5`` may use band names
(``B01`` ... ``B12``, ``B8A``), numbers, ``+ - * / **``, unary minus and the functions
``log``, ``sqrt``, ``exp``, ``abs``, ``min`` and ``max``. Anything else (attributes,
subscripts, names that are not bands, keyword arguments, strings...) is rejected when the
expression is parsed, with a message that says what is allowed. Evaluation walks the
checked tree with numpy ufuncs; division by zero and other undefined results give NaN,
never inf, and raise no warning.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hrlc.errors import ConfigError
from hrlc.io.bands import canonical_band


def safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` with NaN where ``b`` is 0 (or either side is NaN)."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    out = np.full(a.shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


_BINARY: dict[type, Callable] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: safe_divide,
    ast.Pow: np.power,
}
_UNARY: dict[type, Callable] = {ast.USub: np.negative, ast.UAdd: np.positive}
_FUNCTIONS: dict[str, tuple[Callable, int]] = {
    "log": (np.log, 1), "sqrt": (np.sqrt, 1), "exp": (np.exp, 1), "abs": (np.abs, 1),
    "min": (np.fmin, 2), "max": (np.fmax, 2),
}
_MAX_LENGTH = 500
_MAX_NODES = 200


@dataclass(frozen=True)
class Expression:
    """A checked band-math expression.

    Attributes
    ----------
    text : str
        The expression as written.
    bands : tuple of str
        Canonical band names it uses, in order of first appearance.
    """

    text: str
    bands: tuple[str, ...]
    _tree: ast.Expression = field(repr=False, compare=False)

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        """Evaluate on one array per band of :attr:`bands` (same order); float32 out."""
        values = dict(zip(self.bands, arrays))
        with np.errstate(all="ignore"):
            out = np.asarray(_evaluate(self._tree.body, values), dtype=np.float64)
        out[~np.isfinite(out)] = np.nan
        return out.astype(np.float32)


def _problem(text: str, what: str) -> ConfigError:
    return ConfigError(
        f"band-math expression {text!r}: {what}; allowed: band names (B01..B12, B8A), "
        f"numbers, + - * / ** and the functions {', '.join(_FUNCTIONS)}")


def parse_expression(text: str) -> Expression:
    """Parse and check a band-math expression.

    Raises
    ------
    ConfigError
        The expression is not valid Python syntax, is too long, or uses anything but
        bands, numbers, arithmetic and the allowed functions.
    """
    if not isinstance(text, str) or not text.strip():
        raise _problem(str(text), "the expression is empty")
    if len(text) > _MAX_LENGTH:
        raise _problem(text[:40] + "...", f"longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _problem(text, f"not a valid expression ({exc.msg})") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > _MAX_NODES:
        raise _problem(text, f"more than {_MAX_NODES} terms")
    bands: list[str] = []
    _check(tree.body, text, bands)
    return Expression(text=text.strip(), bands=tuple(dict.fromkeys(bands)), _tree=tree)


def _check(node: ast.AST, text: str, bands: list[str]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, text, bands)
        _check(node.right, text, bands)
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, text, bands)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _problem(text, f"{node.value!r} is not a number")
    elif isinstance(node, ast.Name):
        try:
            bands.append(canonical_band(node.id))
        except ValueError:
            raise _problem(text, f"{node.id!r} is not a band name") from None
        if bands[-1] == "SCL":
            raise _problem(text, "SCL is not a reflectance band")
        node.id = bands[-1]
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS:
            raise _problem(text, f"function {ast.unparse(node.func)!r} is not allowed")
        if node.keywords or len(node.args) != _FUNCTIONS[name][1]:
            raise _problem(text, f"{name}() takes {_FUNCTIONS[name][1]} positional "
                           "argument(s)")
        for arg in node.args:
            _check(arg, text, bands)
    else:
        raise _problem(text, f"{ast.unparse(node)!r} is not allowed")


def _evaluate(node: ast.AST, values: dict[str, np.ndarray]):
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values),
                                      _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return np.asarray(values[node.id], dtype=np.float64)
    function = _FUNCTIONS[node.func.id][0]
    return function(*(_evaluate(arg, values) for arg in node.args))

