"""Record and replay: what an account's API sent, kept safe to hand over and served again.

`check --record DIR` (`session.py`) runs the check with every exchange recorded
(`capture.py`), redacts it (`redact.py`, on `jsonscan.py`), writes the folder
(`folder.py`) and what the exporter made of it (`expect.py`); `simulate --replay DIR`
serves it (`replay.py`). The exporter imports none of this but from those two commands.
"""
