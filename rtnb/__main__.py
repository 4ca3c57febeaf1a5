"""``python -m rtnb ...`` is the ``rtnb`` command line."""

from .cli import main

raise SystemExit(main())
