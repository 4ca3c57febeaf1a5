"""The two small expression languages of a :class:`rtnb.pipeline.metric.Metric`.

Both are parsed once (with Python's own parser, then checked against a short list of
allowed nodes) and can be evaluated on pandas/numpy values or written as SQL, so the
streaming answer and the warehouse query come from one definition.

- :class:`Derived` — arithmetic over aggregate columns: ``+ - * /``, unary minus,
  parentheses, numbers, the names of the metric's aggregate columns (``count``,
  ``occupied_sum``) and ``seconds`` (the window length in seconds, for rates). ``a / b``
  is missing (NaN, SQL ``NULL``) where ``b`` is 0.
- :class:`RowFilter` — which rows a metric counts: comparisons (``== != < <= > >=``)
  of columns with constants, ``in`` / ``not in`` a list of constants, ``and``, ``or``,
  ``not``. A comparison with a missing value is false, as in SQL.

>>> d = Derived("occupied_sum / capacity_sum")
>>> d.names
('occupied_sum', 'capacity_sum')
>>> d.evaluate({"occupied_sum": np.array([3.0, 1.0]), "capacity_sum": np.array([4.0, 0.0])})
array([0.75,  nan])
>>> d.sql()
'(CAST("occupied_sum" AS DOUBLE) / NULLIF("capacity_sum", 0))'
>>> f = RowFilter("country in ('FR', 'DE') and amount > 0")
>>> f.names
('country', 'amount')
>>> f.mask(pd.DataFrame({"country": ["FR", "UK", "DE"], "amount": [1.0, 2.0, -1.0]})).tolist()
[True, False, False]
>>> f.sql()
'("country" IN (\\'FR\\', \\'DE\\') AND "amount" > 0)'
>>> Derived("__import__('os')")
Traceback (most recent call last):
...
rtnb._errors.ParameterError: expression="__import__('os')" is invalid: function calls are not allowed; use + - * / over aggregate names
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError

__all__ = ["Derived", "RowFilter", "quote_ident", "quote_literal"]


def quote_ident(name: str) -> str:
    """A SQL identifier in double quotes (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: Any) -> str:
    """A constant as SQL: text in single quotes, numbers as they are, booleans."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (int, float)) and math.isfinite(value):
        return repr(value)
    raise ParameterError("constant", value, "must be text, a finite number or a boolean")


def _parse(text: Any, param: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(param, text, "must be a non-empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ParameterError(param, text, f"is not an expression: {exc.msg}") from None
    return tree.body


def _why(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return "function calls are not allowed"
    if isinstance(node, ast.Attribute):
        return "attributes are not allowed"
    if isinstance(node, ast.Subscript):
        return "indexing is not allowed"
    return f"{type(node).__name__} is not allowed"


_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class Derived:
    """An arithmetic expression over aggregate columns (see the module docstring).

    >>> Derived("(orders_sum - refunds_sum) / seconds").sql(seconds=60.0)
    '(CAST(("orders_sum" - "refunds_sum") AS DOUBLE) / NULLIF(60.0, 0))'
    """

    def __init__(self, text: str, param: str = "expression") -> None:
        self.text = text
        self._tree = _parse(text, param)
        names: list[str] = []
        self._check(self._tree, names, param)
        self.names = tuple(dict.fromkeys(names))

    def _check(self, node: ast.AST, names: list[str], param: str) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            self._check(node.left, names, param)
            self._check(node.right, names, param)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand, names, param)
        elif isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            if not math.isfinite(node.value):
                raise ParameterError(param, self.text, "numbers must be finite")
        else:
            raise ParameterError(param, self.text, _why(node) + "; use + - * / over aggregate names")

    def evaluate(self, values: dict[str, Any], seconds: float | None = None) -> np.ndarray:
        """The expression over arrays (or scalars) of the named columns, as float64."""
        def ev(node: ast.AST) -> np.ndarray:
            if isinstance(node, ast.BinOp):
                a, b = ev(node.left), ev(node.right)
                op = type(node.op)
                with np.errstate(all="ignore"):
                    if op is ast.Add:
                        return a + b
                    if op is ast.Sub:
                        return a - b
                    if op is ast.Mult:
                        return a * b
                    b = np.asarray(b, dtype=np.float64)
                    return np.where(b == 0, np.nan, a / np.where(b == 0, 1.0, b))
            if isinstance(node, ast.UnaryOp):
                v = ev(node.operand)
                return -v if isinstance(node.op, ast.USub) else v
            if isinstance(node, ast.Name):
                if node.id == "seconds" and "seconds" not in values:
                    return np.float64(np.nan if seconds is None else seconds)
                return np.asarray(values[node.id], dtype=np.float64)
            return np.float64(node.value)

        return np.asarray(ev(self._tree), dtype=np.float64)

    def sql(self, seconds: float | None = None) -> str:
        """The expression in SQL over the aggregate columns (``seconds`` as a number)."""
        def sq(node: ast.AST) -> str:
            if isinstance(node, ast.BinOp):
                a, b = sq(node.left), sq(node.right)
                if isinstance(node.op, ast.Div):
                    return f"(CAST({a} AS DOUBLE) / NULLIF({b}, 0))"
                return f"({a} {_ARITH[type(node.op)]} {b})"
            if isinstance(node, ast.UnaryOp):
                return f"(-{sq(node.operand)})" if isinstance(node.op, ast.USub) else sq(node.operand)
            if isinstance(node, ast.Name):
                if node.id == "seconds":
                    return repr(float(seconds)) if seconds is not None else "NULL"
                return quote_ident(node.id)
            return repr(node.value)

        return sq(self._tree)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Derived) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Derived({self.text!r})"


_CMP = {ast.Eq: ("==", "="), ast.NotEq: ("!=", "<>"), ast.Lt: ("<", "<"), ast.LtE: ("<=", "<="),
        ast.Gt: (">", ">"), ast.GtE: (">=", ">=")}


class RowFilter:
    """Which rows a metric counts (see the module docstring).

    >>> RowFilter("status != 'cancelled'").mask(pd.DataFrame({"status": ["ok", None, "cancelled"]})).tolist()
    [True, False, False]
    """

    def __init__(self, text: str, param: str = "filter") -> None:
        self.text = text
        self._param = param
        self._tree = _parse(text, param)
        names: list[str] = []
        self._check(self._tree, names)
        self.names = tuple(dict.fromkeys(names))

    def _fail(self, why: str) -> ParameterError:
        return ParameterError(self._param, self.text, why)

    def _const(self, node: ast.AST) -> Any:
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            v = node.operand.value
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return -v
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise self._fail("numbers must be finite")
            return node.value
        raise self._fail("compare a column with a constant (text, a number or True/False)")

    def _check(self, node: ast.AST, names: list[str]) -> None:
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                self._check(v, names)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._check(node.operand, names)
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self._fail("write one comparison at a time (a < x and x < b)")
            if not isinstance(node.left, ast.Name):
                raise self._fail("the left side of a comparison must be a column name")
            names.append(node.left.id)
            op, right = node.ops[0], node.comparators[0]
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.Tuple, ast.List)) or not right.elts:
                    raise self._fail("'in' takes a list of constants, e.g. country in ('FR', 'DE')")
                for e in right.elts:
                    self._const(e)
            elif type(op) in _CMP:
                self._const(right)
            else:
                raise self._fail(f"{type(op).__name__} is not allowed; use == != < <= > >= in")
        else:
            raise self._fail(_why(node) + "; use comparisons joined by and / or / not")

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows of ``frame`` the filter keeps, as a boolean array."""
        def ev(node: ast.AST) -> np.ndarray:
            if isinstance(node, ast.BoolOp):
                parts = [ev(v) for v in node.values]
                out = parts[0]
                for p in parts[1:]:
                    out = (out & p) if isinstance(node.op, ast.And) else (out | p)
                return out
            if isinstance(node, ast.UnaryOp):
                return ~ev(node.operand)
            col = frame[node.left.id]
            op, right = node.ops[0], node.comparators[0]
            present = ~col.isna().to_numpy(dtype=bool)
            if isinstance(op, (ast.In, ast.NotIn)):
                inside = col.isin([self._const(e) for e in right.elts]).to_numpy(dtype=bool)
                return present & (inside if isinstance(op, ast.In) else ~inside)
            c = self._const(right)
            sym = _CMP[type(op)][0]
            with np.errstate(invalid="ignore"):
                res = {"==": col == c, "!=": col != c, "<": col < c, "<=": col <= c,
                       ">": col > c, ">=": col >= c}[sym]
            return present & res.fillna(False).to_numpy(dtype=bool)

        return np.asarray(ev(self._tree), dtype=bool)

    def sql(self) -> str:
        """The filter as a SQL boolean expression (for a ``WHERE``)."""
        def sq(node: ast.AST) -> str:
            if isinstance(node, ast.BoolOp):
                joiner = " AND " if isinstance(node.op, ast.And) else " OR "
                return "(" + joiner.join(sq(v) for v in node.values) + ")"
            if isinstance(node, ast.UnaryOp):
                return f"(NOT {sq(node.operand)})"
            col = quote_ident(node.left.id)
            op, right = node.ops[0], node.comparators[0]
            if isinstance(op, (ast.In, ast.NotIn)):
                items = ", ".join(quote_literal(self._const(e)) for e in right.elts)
                # NOT IN is false for a missing value, as the pandas side says
                return (f"{col} IN ({items})" if isinstance(op, ast.In)
                        else f"({col} IS NOT NULL AND {col} NOT IN ({items}))")
            return f"{col} {_CMP[type(op)][1]} {quote_literal(self._const(right))}"

        return sq(self._tree)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowFilter) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RowFilter({self.text!r})"
