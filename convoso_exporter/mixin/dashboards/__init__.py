"""The Grafana dashboards (`grafana/dashboards/*.json`), one module each.

A new dashboard is a module with a `build(settings) -> dict` function, added to
`DASHBOARDS`; its file is named after its uid.
"""

from __future__ import annotations

import json
from typing import Any

from convoso_exporter.mixin.dashboards import agents, compliance, exporter, overview
from convoso_exporter.mixin.files import Generated
from convoso_exporter.mixin.settings import Settings

FOLDER = "grafana/dashboards"
DASHBOARDS = (overview.build, agents.build, compliance.build, exporter.build)


def render(board: dict[str, Any]) -> str:
    """The committed text of one dashboard: sorted keys, 2-space indent, final newline."""
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def files(settings: Settings) -> list[Generated]:
    """Every registered dashboard as its committed file, named after its uid."""
    boards = [build(settings) for build in DASHBOARDS]
    return [Generated(f"{FOLDER}/{board['uid']}.json", render(board)) for board in boards]
