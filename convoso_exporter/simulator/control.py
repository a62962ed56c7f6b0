"""The simulator's control endpoint, `/_sim/...`: break and heal it, change it, look
inside. The token goes in the query (`auth_token`); bodies are JSON objects. Errors
answer `{"error": "<one line>"}`: 400 for a bad request or a refused change, 404 for
an unknown campaign or queue (or control path), 401 without the token.

  POST /_sim/fault     {"fault": "429", "campaign_id": "1001", "retry_after": 5, "times": 3}
                       {"fault": null} clears all faults ({"fault": null, "campaign_id": ...}: that scope's)
  POST /_sim/surge     {"drop_ratio": 0.2} / {"drop_ratio": null}
  POST /_sim/machines  {"machine_share": 0.4} / {"machine_share": null} (back to the configured share)
  POST /_sim/deny      {"endpoints": ["performance"], "status": 403} (or "user_activity"; status
                       403 or 200, default 403); {"endpoints": []} gives the permissions back
  POST /_sim/style     {"style": "live"}, {"count_style": "ringing-as-ready"}, or both
  POST /_sim/campaign  {"action": "add", "name": "Winter Promo", "agents": 5}
                         → {"campaign_id": "1004", "queue_id": "2005"}
                       {"action": "remove", "campaign_id": "1004"}
                         → {"campaign_id": "1004", "queue_ids": ["2005"]}
  POST /_sim/queue     {"action": "add", "campaign_id": "1001", "name": "Late Shift", "agents": 2}
                         → {"queue_id": "2006", "campaign_id": "1001"}
                       {"action": "remove", "queue_id": "2006"} → {"queue_id": "2006"}
  GET  /_sim/state     campaigns, queues, agent ids, faults, counters
  GET  /_sim/truth     the ground truth (`ContactCenter.truth`), keys as "1001/2001/READY"

`name` and `agents` are optional (a generated name; no agents: a new queue takes
`agents` from the fullest queues). fault, surge, machines, deny and style answer the state.
"""

from __future__ import annotations

import json

from convoso_exporter.simulator.faults import scope_id
from convoso_exporter.simulator.model import UnknownScope
from convoso_exporter.simulator.truth import truth_json
from convoso_exporter.web.http import Request, Response
from convoso_exporter.web.vendor_http import INVALID_TOKEN, json_response

METHODS = {
    "fault": "POST", "surge": "POST", "machines": "POST", "deny": "POST", "style": "POST", "campaign": "POST",
    "queue": "POST",
    "state": "GET", "truth": "GET",
}
FIELDS = {
    "fault": {"fault", "campaign_id", "queue_id", "retry_after", "delay", "times", "size"},
    "surge": {"drop_ratio"},
    "machines": {"machine_share"},
    "deny": {"endpoints", "status"},
    "style": {"style", "count_style"},
    ("campaign", "add"): {"action", "name", "agents"},
    ("campaign", "remove"): {"action", "campaign_id"},
    ("queue", "add"): {"action", "campaign_id", "name", "agents"},
    ("queue", "remove"): {"action", "queue_id"},
}


def handle(sim, request: Request) -> Response:
    """`sim` is the `Simulator` being controlled."""
    if not sim.token_ok(request.query.get("auth_token")):
        return json_response(401, INVALID_TOKEN)
    action = request.path.removeprefix("/_sim/")
    wanted = METHODS.get(action)
    if wanted is None:
        return json_response(404, {"error": f"unknown control endpoint {request.path}"})
    if request.method != wanted:
        return json_response(405, {"error": f"use {wanted} for {request.path}"}, headers=[("Allow", wanted)])
    if action == "state":
        return json_response(200, sim.state())
    if action == "truth":
        return json_response(200, truth_json(sim.center.truth()))
    try:
        data = _json_object(request.body)
        if action in ("campaign", "queue"):
            return json_response(200, _change_layout(sim.center, action, data))
        _apply(sim, action, data)
    except UnknownScope as missing:
        return json_response(404, {"error": str(missing)})
    except (ValueError, TypeError) as bad:
        return json_response(400, {"error": str(bad)})
    return json_response(200, sim.state())


def _apply(sim, action: str, data: dict) -> None:
    if action == "fault":
        _check_fields(data, FIELDS["fault"])
        if "fault" not in data:
            raise ValueError('missing "fault" (a fault name, or null to clear)')
        sim.set_fault(data.pop("fault"), **data)
    elif action == "surge":
        _check_fields(data, FIELDS["surge"])  # {"drop_ratio": .., "campaign_id": ..} is not a campaign's surge
        if "drop_ratio" not in data:
            raise ValueError('missing "drop_ratio" (a ratio in [0, 1), or null to end the surge)')
        sim.surge(data["drop_ratio"])
    elif action == "machines":
        _check_fields(data, FIELDS["machines"])
        if "machine_share" not in data:
            raise ValueError('missing "machine_share" (a share in [0, 1), or null for the configured one)')
        sim.set_machine_share(data["machine_share"])
    elif action == "deny":
        _check_fields(data, FIELDS["deny"])
        if "endpoints" not in data:
            raise ValueError('missing "endpoints" (a list, [] to deny none)')
        sim.deny(data["endpoints"], data.get("status", 403))
    else:
        _check_fields(data, FIELDS["style"])
        counts = sim.count_style
        if "count_style" in data:
            sim.set_count_style(data["count_style"])
        if "style" in data or "count_style" not in data:
            try:
                sim.set_style(data.get("style"))
            except ValueError:
                sim.set_count_style(counts)  # all or nothing
                raise


def _change_layout(center, kind: str, data: dict) -> dict:
    verb = data.get("action")
    if verb not in ("add", "remove"):
        raise ValueError(f'"action" must be "add" or "remove", got {verb!r}')
    _check_fields(data, FIELDS[kind, verb])
    if kind == "campaign" and verb == "add":
        campaign_id = center.add_campaign(data.get("name"), agents=data.get("agents", 0))
        return {"campaign_id": campaign_id, "queue_id": _queue_ids(center, campaign_id)[0]}
    if kind == "campaign":
        campaign_id = _required_id(data, "campaign_id")
        queue_ids = _queue_ids(center, campaign_id)
        center.remove_campaign(campaign_id)
        return {"campaign_id": campaign_id, "queue_ids": queue_ids}
    if verb == "add":
        campaign_id = _required_id(data, "campaign_id")
        queue_id = center.add_queue(campaign_id, data.get("name"), agents=data.get("agents", 0))
        return {"queue_id": queue_id, "campaign_id": campaign_id}
    queue_id = _required_id(data, "queue_id")
    center.remove_queue(queue_id)
    return {"queue_id": queue_id}


def _queue_ids(center, campaign_id: str) -> list[str]:
    for campaign in center.campaigns():
        if campaign["campaign_id"] == campaign_id:
            return campaign["queue_ids"]
    raise UnknownScope(f"campaign {campaign_id} not found")


def _required_id(data: dict, name: str) -> str:
    value = scope_id(name, data.get(name))
    if value is None:
        raise ValueError(f'missing "{name}"')
    return value


def _check_fields(data: dict, known: set[str]) -> None:
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}")


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as bad:
        raise ValueError(f"body is not JSON: {bad}") from None
    except RecursionError:  # "[" * 1000: json.loads recurses once per level
        raise ValueError("body is not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data

