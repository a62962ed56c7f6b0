"""The optional endpoints beside agent-monitor search, one module each: agent-performance
search (`performance.py`) and user-activity search (`activity.py`). Each parser takes the
decoded document and the answer's `drift.Tally` (`api/read.py` `read_document`)."""
