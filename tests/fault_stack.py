"""A simulator process and an exporter process wired together, for the fault and secret
tests: switch the simulator's faults over its control endpoint, scrape the exporter,
read its JSON log lines.

Every scrape is checked on the way in: it must answer 200 within `SCRAPE_DEADLINE`
seconds and parse with prometheus_client's parser, with no series listed twice.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port, process, wait_http

# The promise: /metrics answers within a second whatever the API does.
SCRAPE_DEADLINE = 1.0
# How often `wait_for` scrapes while it waits.
SCRAPE_EVERY = 0.15

Labels = tuple[tuple[str, str], ...]


@dataclass
class Scrape:
    """One /metrics answer, parsed: samples keyed by (name, sorted labels)."""

    body: str
    samples: dict[tuple[str, Labels], float]

    def select(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        """Every sample of `name` whose labels include `labels`."""
        found = []
        for (sample_name, sample_labels), value in self.samples.items():
            if sample_name != name:
                continue
            as_dict = dict(sample_labels)
            if all(as_dict.get(key) == want for key, want in labels.items()):
                found.append((as_dict, value))
        return found

    def value(self, name: str, **labels: str) -> float | None:
        """The one sample of `name` with exactly these labels, or None."""
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def up(self, target: str) -> float | None:
        return self.value("convoso_up", target=target)

    def last_success(self, target: str) -> float | None:
        return self.value("convoso_last_success_timestamp_seconds", target=target)

    def poll_errors(self, target: str, kind: str) -> float:
        return self.value("convoso_exporter_poll_errors_total", target=target, kind=kind) or 0.0

    def api_requests(self, outcome: str, endpoint: str = "search") -> float:
        return self.value("convoso_exporter_api_requests_total", endpoint=endpoint, outcome=outcome) or 0.0


def parse_exposition(body: str) -> dict[tuple[str, Labels], float]:
    """Samples of a text exposition; AssertionError if a series appears twice."""
    samples: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"series listed twice: {key}"
            samples[key] = sample.value
    return samples


def scrape(url: str, client: httpx.Client) -> Scrape:
    """GET /metrics; it must answer 200 within SCRAPE_DEADLINE with a valid exposition."""
    started = time.perf_counter()
    response = client.get(url + "/metrics", timeout=SCRAPE_DEADLINE)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, f"/metrics answered {response.status_code}"
    assert elapsed < SCRAPE_DEADLINE, f"/metrics took {elapsed:.3f}s"
    return Scrape(response.text, parse_exposition(response.text))


def promtool_check(promtool: str, body: str) -> None:
    """`promtool check metrics` must pass the body without a word."""
    done = subprocess.run([promtool, "check", "metrics"], input=body.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, (done.stdout + done.stderr).decode(errors="replace")
    assert done.stdout + done.stderr == b"", (done.stdout + done.stderr).decode(errors="replace")


def log_records(output: str) -> list[dict[str, Any]]:
    """The exporter's JSON log lines (complete lines only: it may be mid-write)."""
    complete = output[: output.rfind("\n") + 1]
    records = []
    for line in complete.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"a log line is not one JSON record: {line!r}") from None
    return records


def about(records: list[dict[str, Any]], target: str) -> list[dict[str, Any]]:
    """Log records about one target (its `target` field)."""
    return [record for record in records if record.get("target") == target]


def notices(records: list[dict[str, Any]], target: str) -> list[dict[str, Any]]:
    """Records about `target` above debug: what an operator sees at the default level."""
    return [record for record in about(records, target) if record["level"] != "debug"]


def failed_polls(records: list[dict[str, Any]], target: str) -> list[dict[str, Any]]:
    """The per-poll debug records of `target`'s failed polls."""
    return [r for r in about(records, target) if r["level"] == "debug" and " poll failed in " in r["msg"]]


@dataclass
class Simulator:
    proc: subprocess.Popen
    root: str  # http://127.0.0.1:PORT
    token: str
    control: httpx.Client = field(repr=False)

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def state(self) -> dict:
        response = self.control.get(f"{self.root}/_sim/state", params={"auth_token": self.token})
        response.raise_for_status()
        return response.json()

    def fault(self, name: str | None, **scope: Any) -> None:
        """Switch a fault on (or with None, off) for a scope, over the control endpoint."""
        body = {"fault": name, **scope}
        response = self.control.post(f"{self.root}/_sim/fault", params={"auth_token": self.token}, json=body)
        assert response.status_code == 200, response.text

    def clear(self) -> None:
        self.fault(None)

    def search(self, **form: str) -> dict:
        """The API's own answer (the token in the body, as the exporter also sends it)."""
        response = self.control.post(
            f"{self.base_url}/agent-monitor/search", data={"auth_token": self.token, **form}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def simulator(token: str, *extra: str, port: int | None = None) -> Iterator[Simulator]:
    """A `simulate` process on loopback (on `port` if given), killed at the end."""
    port = port or free_port()
    args = ["simulate", "--web.listen-address", f"127.0.0.1:{port}", "--auth-token", token, *extra]
    with process(args) as proc, httpx.Client(timeout=5) as control:
        root = f"http://127.0.0.1:{port}"
        wait_http(f"{root}/_sim/state?auth_token={quote(token, safe='')}", proc=proc)
        sim = Simulator(proc, root, token, control)
        sim.state()  # proves the token works on the control endpoint
        yield sim


def write_config(
    path: Path,
    base_url: str,
    targets: dict[str, dict[str, str]],
) -> None:
    """A config polling every second; `targets` maps name → filters ({} for the whole account)."""
    lines = [
        "convoso:",
        f"  base_url: {base_url}",
        "  auth_token_file: token",
        "  timeout: 1500ms",
        "  max_backoff: 1s",
        "  max_response_bytes: 256KiB",
        "poll_interval: 1s",
        "targets:",
    ]
    for name, filters in targets.items():
        lines.append(f"  - name: {name}")
        lines += [f'    {key}: "{value}"' for key, value in filters.items()]
    path.write_text("\n".join(lines) + "\n")


def write_token(folder: Path, token: str, mode: int = 0o600) -> Path:
    path = folder / "token"
    path.write_text(token + "\n")
    path.chmod(mode)
    return path


@dataclass
class Exporter:
    proc: subprocess.Popen
    url: str
    config: Path
    client: httpx.Client = field(repr=False)

    def output(self) -> str:
        return self.proc.output()  # type: ignore[attr-defined]

    def records(self) -> list[dict[str, Any]]:
        return log_records(self.output())

    def scrape(self) -> Scrape:
        assert self.proc.poll() is None, f"the exporter exited with {self.proc.returncode}"
        return scrape(self.url, self.client)

    def wait_for(self, condition: Callable[[Scrape], bool], what: str, timeout: float = 10.0,
                 seen: list[Scrape] | None = None) -> Scrape:
        """Scrape until `condition` holds; every scrape on the way is validated (and
        appended to `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.scrape()
            if seen is not None:
                seen.append(current)
            if condition(current):
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(SCRAPE_EVERY)


@contextmanager
def exporter(config: Path, *flags: str, ready: bool = True, open_files: int | None = None) -> Iterator[Exporter]:
    """An exporter process on a free loopback port, JSON logs at debug unless `flags` say
    otherwise (and RLIMIT_NOFILE `open_files` if given); yields once /-/ready answers (every
    target polled once and the account answered), or with `ready=False` once it serves
    (/-/healthy), for an API that fails."""
    port = free_port()
    args = ["--config.file", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
    if "--log.level" not in flags:
        args += ["--log.level", "debug"]
    if "--log.format" not in flags:
        args += ["--log.format", "json"]
    with process([*args, *flags], env={"CONVOSO_AUTH_TOKEN": ""}, open_files=open_files) as proc, \
            httpx.Client() as client:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/-/ready" if ready else f"{url}/-/healthy", proc=proc)
        yield Exporter(proc, url, config, client)
