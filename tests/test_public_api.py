"""The public surface: ``__all__`` lists exactly the public names, each documented
with an example that the doctest run executes (pytest runs --doctest-modules on rtnb/)."""

from __future__ import annotations

import inspect
import types

import rtnb


def public_names(mod: types.ModuleType) -> set[str]:
    return {
        n
        for n, v in vars(mod).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }


def test_all_equals_public_names():
    assert set(rtnb.__all__) == public_names(rtnb)
    assert len(rtnb.__all__) == len(set(rtnb.__all__))


def test_every_public_name_has_a_docstring_example():
    missing = []
    for name in rtnb.__all__:
        obj = getattr(rtnb, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            if ">>>" not in doc:
                missing.append(name)
    assert not missing, f"public names without a docstring example: {missing}"


def test_errors_form_one_tree():
    for name in rtnb.__all__:
        obj = getattr(rtnb, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            assert issubclass(obj, rtnb.RtnbError), name
