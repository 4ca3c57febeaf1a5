"""The public surface: ``__all__`` lists exactly the public names, each documented
with an example that the doctest run executes (pytest runs --doctest-modules on rtnb/)."""

from __future__ import annotations

import inspect
import types

import rtnb


def public_names(mod: types.ModuleType) -> set[str]:
    # dir(), not vars(): the views are imported on first use (module __getattr__)
    return {
        n
        for n in dir(mod)
        if not n.startswith("_") and not isinstance(getattr(mod, n), types.ModuleType) and n != "annotations"
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


def test_the_pipeline_and_the_store_import_without_the_widget_libraries():
    import subprocess
    import sys

    code = (
        "import sys, rtnb.store, rtnb.pipeline, rtnb.runner, rtnb.tiers\n"
        "print(sorted(m for m in ('ipywidgets', 'bqplot') if m in sys.modules))\n"
        "rtnb.Dashboard\n"  # the views come on first use
        "print(sorted(m for m in ('ipywidgets', 'bqplot') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "['bqplot', 'ipywidgets']"]


def test_the_delivery_simulation_has_a_name_of_its_own():
    assert rtnb.tiers.simulate_delivery is rtnb.tiers.simulate  # the old name still works
    assert rtnb.simulate is not rtnb.tiers.simulate_delivery
