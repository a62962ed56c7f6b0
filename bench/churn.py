"""Series and series churn of a running exporter: scrape it every `--every` seconds for
`--minutes` and count the series in each scrape and the distinct series seen in all.

    python -m bench.churn --url http://127.0.0.1:10717/metrics --minutes 10

Distinct series are what Prometheus pays for over time (each starts a new series in the
head block), not only the ones live in one scrape. Process metrics are left out: they
are the same for any exporter.
"""

from __future__ import annotations

import argparse
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def series(body: str) -> set[tuple[str, frozenset]]:
    return {
        (sample.name, frozenset(sample.labels.items()))
        for family in text_string_to_metric_families(body)
        if not family.name.startswith(("process_", "python_"))
        for sample in family.samples
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=15.0)
    args = parser.parse_args(argv)
    seen: set[tuple[str, frozenset]] = set()
    live: list[int] = []
    deadline = time.monotonic() + args.minutes * 60
    while True:
        current = series(httpx.get(args.url, timeout=10).text)
        seen |= current
        live.append(len(current))
        if time.monotonic() + args.every > deadline:
            break
        time.sleep(args.every)
    agent_series = {s for s in seen if s[0].startswith("convoso_agent_") and "user_id" in dict(s[1])}
    agents = {dict(s[1])["user_id"] for s in agent_series}
    print(f"scrapes: {len(live)}; series per scrape: first {live[0]}, max {max(live)}; "
          f"distinct series in {args.minutes:g} min: {len(seen)}; "
          f"per-agent series (distinct): {len(agent_series)} for {len(agents)} agents")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
