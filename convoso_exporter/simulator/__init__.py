"""The Convoso Agent Monitor API simulator.

`center.py` is the living contact center (pure state, seeded, injectable clock),
`render.py` writes its answers in the documented or the live service's style, and
`server.py` serves them over HTTP with faults on demand and a control endpoint.
The exporter imports this package only from `demo.py` and the `simulate` command.
"""

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.render import CONTENT_FAULTS, STYLES
from convoso_exporter.simulator.server import FAULTS, Simulator

__all__ = ["CONTENT_FAULTS", "FAULTS", "STYLES", "ContactCenter", "FakeClock", "Simulator"]
