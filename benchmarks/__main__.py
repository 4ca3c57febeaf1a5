"""Run every benchmark in one go: ``python -m benchmarks`` (or ``make bench``).

Each ``bench_<area>.py`` module has a ``main()`` that prints its own table; results and
machine notes are recorded in ``benchmarks/RESULTS.md``. Pass area names to run a
subset: ``python -m benchmarks generation rolling``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    areas = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    chosen = argv or areas
    unknown = [a for a in chosen if a not in areas]
    if unknown:
        print(f"unknown benchmark area(s): {unknown}; choose from {areas}", file=sys.stderr)
        return 2
    for area in chosen:
        print(f"\n=== {area} ===", flush=True)
        mod = importlib.import_module(f"benchmarks.bench_{area}")
        # Each benchmark runs with its own defaults (the area names are not its argv).
        if inspect.signature(mod.main).parameters:
            mod.main([])
        else:
            mod.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
