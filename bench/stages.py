"""The per-agent cost of each stage of a poll, in its own process, in CPU time.

One account of N agents as the simulator's contact center answers it (live style,
N/100 campaigns, N/50 queues, bench/sizes.py), through the exporter's own code:

- decode + parse: `ConvosoClient.search()` over an in-process transport that returns the
  account answer's bytes: reading the body, decoding the JSON and building the typed
  snapshot with every bound the client holds answers to (its parse thread included);
- derive: `Deriver.advance` of the account (day counters and agent time), the poll after
  a first one 15 s earlier (the steady state: most agents in the same stint);
- render: `MetricsRenderer.render` of that poll's states (the account's new state, the
  discovered campaign and queue targets' unchanged), after rendering the first poll:
  what one account round costs the renderer, every format it serves and their gzip.

Baseline: `json.loads` of the same bytes, the cost of merely reading the answer with the
standard library. CPU time (`time.process_time`, every thread of this process), the
least of `--repeats` runs, per agent.

    python -m bench.stages --agents 20000 --repeats 5   → one JSON object
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.sizes import campaigns_for, queues_for
from convoso_exporter import __version__
from convoso_exporter.api.client import ConvosoClient
from convoso_exporter.api.stats import ApiStats
from convoso_exporter.config.schema import ACCOUNT, CAMPAIGN, QUEUE, Target
from convoso_exporter.derive.history import Deriver
from convoso_exporter.expose.cache import MetricsRenderer
from convoso_exporter.expose.exporter import ExporterInfo
from convoso_exporter.poll.state import TargetState
from convoso_exporter.simulator.center import ContactCenter
from convoso_exporter.simulator.render import Renderer

START = 1_700_000_000.0
POLL = 15.0
TOKEN = "bench-stages-token"


def least_cpu(action: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The least CPU time of `repeats` runs of `action`, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        started = time.process_time()
        result = action()
        best = min(best, time.process_time() - started)
    return best, result


class Answers:
    """The simulated account, answering as the live service does, on a clock we move."""

    def __init__(self, agents: int) -> None:
        self.tick = 0.0
        self.center = ContactCenter(agents=agents, campaigns=campaigns_for(agents), queues=queues_for(agents), seed=1,
                                    clock=lambda: self.tick, start_wall=START)
        self.renderer = Renderer(self.center)

    def account(self) -> bytes:
        return self.renderer.search(self.center.select(), "live")

    def scope(self, **filters: str) -> bytes:
        return self.renderer.search(self.center.select(**filters), "live")


def client_for(body: Callable[[], bytes]) -> ConvosoClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body())

    return ConvosoClient("http://sim.invalid/v1", TOKEN, transport=httpx.MockTransport(answer), timeout=60.0,
                         max_response_bytes=256 * 1024 * 1024)


def scope_states(answers: Answers, client: ConvosoClient, loop: asyncio.AbstractEventLoop) -> list[TargetState]:
    """The discovered campaign and queue targets, polled once (their states do not change
    in the measured round: they are polled every discovery interval)."""
    states = []
    for kind, ids in ((CAMPAIGN, answers.center.campaign_ids()), (QUEUE, answers.center.queue_ids())):
        for ident in ids:
            key = "campaign_id" if kind == CAMPAIGN else "queue_id"
            target = Target(f"{kind}:{ident}", kind=kind, interval=60.0, **{key: ident})
            answers.body = answers.scope(**{key: ident})
            result = loop.run_until_complete(client.search(**target.filters()))
            states.append(TargetState(target, 180.0, result, last_success=START, up=True, attempted=True,
                                      last_duration=0.1, generation=1))
    return states


def measure(agents: int, repeats: int) -> dict:
    answers = Answers(agents)
    answers.body = answers.account()
    client = client_for(lambda: answers.body)
    loop = asyncio.new_event_loop()
    scopes = scope_states(answers, client, loop)
    account = Target("account", kind=ACCOUNT)
    deriver = Deriver()
    renderer = MetricsRenderer(agent_metrics=True, max_agents_per_target=agents, process_metrics=False)
    info = ExporterInfo(version=__version__, targets={ACCOUNT: 1}, reload_ok=True, reload_timestamp=START)

    def state(result, derived, wall) -> TargetState:
        return TargetState(account, 45.0, result, last_success=wall, up=True, attempted=True, last_duration=0.2,
                           generation=1, derived=derived)

    # The first poll: the baseline of agent time, the renderer's first render.
    answers.body = answers.account()
    first = loop.run_until_complete(client.search())
    derived = deriver.advance(account, None, first, START)
    renderer.render([state(first, derived, START), *scopes], ApiStats(), START, info)
    # The measured poll, 15 s later.
    answers.tick = POLL
    answers.body = raw = answers.account()
    wall = START + POLL
    baseline, _ = least_cpu(lambda: json.loads(raw), repeats)
    parse, result = least_cpu(lambda: loop.run_until_complete(client.search()), repeats)
    derive, now = least_cpu(lambda: deriver.advance(account, derived, result, wall), repeats)
    states = [state(result, now, wall), *scopes]

    def render_round():
        # Each run renders a new state of the account, as after each account poll.
        states[0] = state(result, now, wall)
        return renderer.render(states, ApiStats(), wall, info)

    render, exposition = least_cpu(render_round, repeats)
    loop.run_until_complete(client.aclose())
    loop.close()
    return {
        "agents": len(result.agents),
        "answer_bytes": len(raw),
        "series": exposition.series,
        "json_loads": baseline,
        "parse": parse,
        "derive": derive,
        "render": render,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description="CPU time per agent of each stage.")
    parser.add_argument("--agents", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.agents, args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
