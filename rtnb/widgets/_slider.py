"""A log slider whose readout reads like the other numbers: "1", "21,600", "1.26".

ipywidgets' sliders format their readout in the page with d3-format, but the Python
side validates ``readout_format`` against a pattern without d3's ``~`` (trim trailing
zeros): ``",.3r"`` read "1.00" and "10.0" for a speed-up of 1 and 10, and ``".3g"``
read "2.16e+4" for 21,600. :class:`LogSlider` is ipywidgets' ``FloatLogSlider``
(the same front-end model and view) with the format trait left as plain text.

Its readout is editable, and the view parses the text with ``parseFloat``: "21,600"
read back as 21. A LogSlider carries the class :data:`READOUT_CLASS`, whose readouts the
page rewrites as plain numbers before the view reads them (``_readout.js``, loaded with
every dashboard's frame bus): thousands separators and SI suffixes (12k, 1.2M) parse as
they are shown, and text that is not a number leaves the slider as it was.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import traitlets

__all__ = ["LogSlider", "READOUT", "READOUT_CLASS"]

#: d3-format of a log slider's readout: three significant digits, thousands grouped,
#: trailing zeros trimmed (1 → "1", 21600 → "21,600", 1.2589 → "1.26", 0.1 → "0.1").
READOUT = ",.3~r"

#: The DOM class of a LogSlider: its readout's edits parse as it formats them.
READOUT_CLASS = "rtnb-log-slider"


class LogSlider(widgets.FloatLogSlider):
    """``FloatLogSlider`` with the readout format :data:`READOUT` (any d3 format).

    >>> s = LogSlider(value=21_600, min=0, max=5, description="speed-up")
    >>> s.readout_format, s.get_state()["_model_name"], s._dom_classes
    (',.3~r', 'FloatLogSliderModel', ('rtnb-log-slider',))
    """

    readout_format = traitlets.Unicode(READOUT, help="d3-format of the readout").tag(sync=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_class(READOUT_CLASS)
