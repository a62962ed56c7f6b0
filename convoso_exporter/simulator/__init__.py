"""The Convoso Agent Monitor API simulator.

`center.py` is the living contact center (pure state, seeded, injectable clock), built
from `model.py` (its records), `clock.py` (`FakeClock`, local days in a time zone),
`layout.py` (campaigns and queues, added and removed at run time), `machine.py` (the
agents' state machine and the calls' outcomes), `daybook.py` (per local day, each
agent's calls by outcome and seconds by activity), `scope.py` (what a search covers)
and `truth.py` (the ground truth tests hold the exporter against). `render.py` writes
search answers in the documented or the live service's style, `performance.py` answers
agent-performance search from the day book, `server.py` serves them over HTTP with
faults on demand (`faults.py`) and a control endpoint (`control.py`), and
`transport.py` serves them in-process, without sockets, for long backtests.
The exporter imports this package only from `demo.py` and the `simulate` command.
"""

from convoso_exporter.simulator.center import ContactCenter, FakeClock
from convoso_exporter.simulator.render import CONTENT_FAULTS, STYLES
from convoso_exporter.simulator.server import FAULTS, Simulator

__all__ = ["CONTENT_FAULTS", "FAULTS", "STYLES", "ContactCenter", "FakeClock", "Simulator"]
