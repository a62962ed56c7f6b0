"""`python -m bench.soak [--duration 600]`: a soak run of one exporter process against one
simulator process, printing what held and what it cost.

While it runs, agents log out (through the API, besides the simulator's own logouts)
and targets fail and heal on a schedule (the simulator's faults, one scope at a time,
some longer than the exporter keeps stale data). Every scrape (4 a second) is checked:
- no series is listed twice;
- an agent's per-agent series show one status only, and an agent logged out through the
  API shows as LOGGED_OUT (the simulator keeps logged-out agents in its answers with
  that status) once a clean poll of its target has run: its old status series is gone;
- a target whose data is stale (failing for over 3 poll intervals) serves no data series;
- a target that is up serves its data.
The exporter's memory (VmRSS) and open file descriptors are sampled every second; the
second half of the run is compared with the first. Failures are logged once per state
change, so the exporter's warnings are counted against the failure episodes.
`tests/test_soak.py` runs the same soak for 30 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.procs import Processes, free_port, rss_bytes

POLL_INTERVAL = 1.0
ACCOUNT = "account"  # the target every exporter polls: the whole account, every agent once
STALE_AFTER = 3 * POLL_INTERVAL
# How late a render may show a poll: the exporter coalesces renders for a second.
RENDER_LAG = 2.5
# The longest a poll lasts (the configured timeout): a poll that ended this long after a
# moment started after it.
POLL_TIMEOUT = 1.5
# The simulator keeps an agent logged out for at least 300 s; checks stop a little before.
LOGGED_OUT_FOR = 280.0
SCRAPE_EVERY = 0.25
SAMPLE_EVERY = 1.0
LOGOUT_EVERY = 4.0
EPISODE_EVERY = 3.0
# Short episodes end before the data goes stale, long ones after.
EPISODE_LENGTHS = (2.0, 5.5)
# Error faults and valid-but-odd answers, in turn.
FAULTS = ("500", "reset", "hostile_names", "slow", "429", "keyed_by_id", "truncated", "401",
          "unknown_status", "too_large", "502_html", "strings", "not_json", "agents_null", "wrong_shape", "403")
CONTENT_FAULTS = ("hostile_names", "keyed_by_id", "unknown_status", "strings", "agents_null")
FAULT_PARAMS = {"slow": {"delay": 3}, "429": {"retry_after": 1}, "too_large": {"size": 1_200_000}}

Sample = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class Figures:
    duration: float = 0.0
    scrapes: int = 0
    slowest_scrape: float = 0.0
    series_last: int = 0
    duplicates: int = 0
    episodes: int = 0
    error_episodes: int = 0
    failure_warnings: int = 0
    recoveries: int = 0
    logouts: int = 0
    departures_seen: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds into the run, bytes)
    fds: list[tuple[float, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def halves(self, samples: list[tuple[float, int]]) -> tuple[list[int], list[int]]:
        middle = self.duration / 2
        return [v for t, v in samples if t < middle], [v for t, v in samples if t >= middle]

    def quarters(self, samples: list[tuple[float, int]]) -> list[float]:
        """Mean of the samples in each quarter of the run: a leak shows as a rising trend."""
        quarter = self.duration / 4
        return [statistics.mean([v for t, v in samples if i * quarter <= t < (i + 1) * quarter] or [0]) for i in range(4)]

    def rss_growth(self) -> float:
        """Mean RSS of the second half over the first, as a ratio."""
        first, second = self.halves(self.rss)
        return statistics.mean(second) / statistics.mean(first)

    def fd_growth(self) -> int:
        """Most descriptors open in the second half minus most in the first."""
        first, second = self.halves(self.fds)
        return max(second) - max(first)

    def lines(self) -> list[str]:
        mib = 1024 * 1024
        rss = [v for _, v in self.rss]
        fds = [v for _, v in self.fds]
        first, second = self.halves(self.rss)
        return [
            f"duration {self.duration:.0f} s, {self.scrapes} scrapes (slowest {self.slowest_scrape * 1000:.0f} ms), "
            f"{self.series_last} series at the end",
            f"RSS start {rss[0] / mib:.1f} MiB, end {rss[-1] / mib:.1f} MiB, max {max(rss) / mib:.1f} MiB; "
            f"mean first half {statistics.mean(first) / mib:.1f} MiB, second half {statistics.mean(second) / mib:.1f} MiB "
            f"({(self.rss_growth() - 1) * 100:+.1f}%)",
            "RSS mean by quarter of the run: " + ", ".join(f"{q / mib:.1f}" for q in self.quarters(self.rss)) + " MiB",
            f"open fds start {fds[0]}, end {fds[-1]}, max {max(fds)} (second-half max minus first-half max: {self.fd_growth():+d})",
            f"failures injected: {self.episodes} episodes ({self.error_episodes} erroring); exporter logged "
            f"{self.failure_warnings} failure warnings and {self.recoveries} recoveries",
            f"agents logged out through the API: {self.logouts}; departures checked in scrapes: {self.departures_seen}",
            f"duplicate series found: {self.duplicates}; problems: {len(self.problems)}",
            *(f"  problem: {problem}" for problem in self.problems[:20]),
        ]


@dataclass
class Episode:
    target: str
    scope: dict[str, str]
    fault: str
    ends: float


class Soak:
    """One run: the processes, the schedule, the checks."""

    def __init__(self, procs: Processes, workdir: Path, *, agents: int, seed: int) -> None:
        self.procs = procs
        self.workdir = workdir
        self.token = secrets.token_urlsafe(16)
        self.rng = random.Random(seed)
        self.http = httpx.Client(timeout=5)
        self.figures = Figures()
        self.sim_url = self._start_simulator(agents, seed)
        self.scopes = self._scopes()
        self.membership = self._membership()
        self.exporter_url, self.pid = self._start_exporter()
        self.episodes: list[Episode] = []
        self.clean_since: dict[str, float] = {}  # target → when its last episode ended
        self.departed: dict[str, float] = {}  # user_id → when it was logged out through the API
        self.faults = itertools.cycle(FAULTS)
        self.next_scope = itertools.cycle(self.scopes)

    # --- set-up ----------------------------------------------------------------------

    def _start_simulator(self, agents: int, seed: int) -> str:
        port = free_port()
        self.procs.python("simulator", ["-m", "convoso_exporter", "simulate", "--web.listen-address", f"127.0.0.1:{port}",
                                        "--auth-token", self.token, "--agents", str(agents), "--campaigns", "3",
                                        "--queues", "3", "--seed", str(seed)])
        root = f"http://127.0.0.1:{port}"
        self.procs.wait_http("simulator", f"{root}/_sim/state?auth_token={self.token}")
        return root

    def _scopes(self) -> dict[str, dict[str, str]]:
        """Target name → search filters: each campaign, each queue, and the whole account."""
        state = self.http.get(f"{self.sim_url}/_sim/state", params={"auth_token": self.token}).json()
        scopes = {f"campaign-{c['campaign_id']}": {"campaign_id": c["campaign_id"]} for c in state["campaigns"]}
        scopes |= {f"queue-{q['queue_id']}": {"queue_id": q["queue_id"]} for q in state["queues"]}
        return scopes

    def _membership(self) -> dict[str, set[str]]:
        """Target name → the user_ids its searches cover (agents never change queue)."""
        agents = self.api("search", {})["agents"]
        members = {name: set() for name in self.scopes} | {ACCOUNT: set()}
        for agent in agents:
            members[ACCOUNT].add(agent["user_id"])
            for name, scope in self.scopes.items():
                if all(agent[key] == value for key, value in scope.items()):
                    members[name].add(agent["user_id"])
        return members

    def _start_exporter(self) -> tuple[str, int]:
        (self.workdir / "token").write_text(self.token + "\n")
        (self.workdir / "token").chmod(0o600)
        # The ceiling above what the targets ask (the account and its user-activity, and the
        # slices, every second): STALE_AFTER holds for intervals as configured, not stretched.
        lines = ["convoso:", f"  base_url: {self.sim_url}/v1", "  auth_token_file: token", "  timeout: 1500ms",
                 "  max_backoff: 2s", "  max_response_bytes: 1MiB", "  max_requests_per_minute: 1200",
                 f"poll_interval: {POLL_INTERVAL:g}s", "targets:"]
        for name, scope in self.scopes.items():
            lines.append(f"  - name: {name}")
            lines += [f'    {key}: "{value}"' for key, value in scope.items()]
        config = self.workdir / "soak.yaml"
        config.write_text("\n".join(lines) + "\n")
        port = free_port()
        proc = self.procs.python("exporter", ["-m", "convoso_exporter", "--config.file", str(config), "--web.listen-address",
                                              f"127.0.0.1:{port}", "--log.format", "json"])
        url = f"http://127.0.0.1:{port}"
        self.procs.wait_http("exporter", f"{url}/-/ready")
        return url, proc.pid

    def api(self, endpoint: str, form: dict[str, str]) -> dict:
        response = self.http.post(f"{self.sim_url}/v1/agent-monitor/{endpoint}", data={"auth_token": self.token, **form})
        return response.json()

    # --- the run ---------------------------------------------------------------------

    def run(self, duration: float, progress: Callable[[str], None]) -> Figures:
        started = time.monotonic()
        due = {"scrape": 0.0, "sample": 0.0, "logout": LOGOUT_EVERY, "episode": 1.0, "report": 60.0}
        while (now := time.monotonic() - started) < duration:
            self._end_episodes()
            if now >= due["sample"]:
                self._sample(now)
                due["sample"] += SAMPLE_EVERY
            if now >= due["scrape"]:
                self._scrape()
                due["scrape"] = now + SCRAPE_EVERY
            if now >= due["logout"]:
                self._logout_someone()
                due["logout"] += LOGOUT_EVERY
            if now >= due["episode"]:
                self._start_episode()
                due["episode"] += EPISODE_EVERY
            if now >= due["report"]:
                progress(f"{now:.0f} s: {self.figures.scrapes} scrapes, {len(self.figures.problems)} problems")
                due["report"] += 60.0
            time.sleep(max(0.0, min(due.values()) - (time.monotonic() - started)))
        for episode in self.episodes:
            self._fault(None, episode.scope)
        self.figures.duration = time.monotonic() - started
        self._count_log_lines()
        return self.figures

    def _sample(self, now: float) -> None:
        self.figures.rss.append((now, rss_bytes(self.pid)))
        self.figures.fds.append((now, len(os.listdir(f"/proc/{self.pid}/fd"))))

    def _fault(self, fault: str | None, scope: dict[str, str], **params) -> None:
        response = self.http.post(f"{self.sim_url}/_sim/fault", params={"auth_token": self.token},
                                  json={"fault": fault, **scope, **params})
        response.raise_for_status()

    def _start_episode(self) -> None:
        busy = {episode.target for episode in self.episodes}
        target = next(self.next_scope)
        if target in busy:
            return
        fault = next(self.faults)
        length = EPISODE_LENGTHS[self.figures.episodes % len(EPISODE_LENGTHS)]
        self._fault(fault, self.scopes[target], **FAULT_PARAMS.get(fault, {}))
        self.episodes.append(Episode(target, self.scopes[target], fault, time.monotonic() + length))
        self.figures.episodes += 1
        self.figures.error_episodes += fault not in CONTENT_FAULTS

    def _end_episodes(self) -> None:
        for episode in [e for e in self.episodes if e.ends <= time.monotonic()]:
            self._fault(None, episode.scope)
            self.clean_since[episode.target] = time.time()
            self.episodes.remove(episode)

    def _logout_someone(self) -> None:
        moment = time.time()
        recent = {user for user, when in self.departed.items() if moment - when < LOGGED_OUT_FOR}
        candidates = sorted(self.membership[ACCOUNT] - recent)
        if not candidates:
            return
        user = self.rng.choice(candidates)
        answer = self.api("logout", {"user_id": user})
        if answer.get("success") is True:
            self.departed[user] = moment
            self.figures.logouts += 1
        # else: 6012, the simulator had logged the agent out already; not ours to check

    # --- the checks ------------------------------------------------------------------

    def _scrape(self) -> None:
        started = time.monotonic()
        response = self.http.get(f"{self.exporter_url}/metrics")
        self.figures.slowest_scrape = max(self.figures.slowest_scrape, time.monotonic() - started)
        self.figures.scrapes += 1
        if response.status_code != 200:
            self.problem(f"/metrics answered {response.status_code}")
            return
        samples = self._parse(response.text)
        self.figures.series_last = len(samples)
        now = time.time()
        for target in self.membership:
            self._check_target(samples, target, now)

    def _parse(self, text: str) -> dict[Sample, float]:
        samples: dict[Sample, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key in samples:
                    self.figures.duplicates += 1
                    self.problem(f"series listed twice: {key}")
                samples[key] = sample.value
        return samples

    def _check_target(self, samples: dict[Sample, float], target: str, now: float) -> None:
        def value(name: str) -> float | None:
            return samples.get((name, (("target", target),)))

        up, last_success = value("convoso_up"), value("convoso_last_success_timestamp_seconds")
        statuses: dict[str, list[str]] = {}
        if target == ACCOUNT:  # per-agent series come from the account answer alone
            for (name, labels), _ in samples.items():
                if name == "convoso_agent_status_time_seconds":
                    as_dict = dict(labels)
                    statuses.setdefault(as_dict["user_id"], []).append(as_dict["status"])
        has_data = value("convoso_agent_count") is not None
        for user, shown in statuses.items():
            if len(shown) > 1:
                self.problem(f"{target}: agent {user} shows statuses {shown} at once")
        if last_success is not None and now - last_success > STALE_AFTER + RENDER_LAG and has_data:
            self.problem(f"{target}: stale data still served ({now - last_success:.1f} s old)")
        if up == 1 and last_success is not None and now - last_success < STALE_AFTER and not has_data:
            self.problem(f"{target}: up and fresh but no data")
        if up == 1 and last_success is not None:
            self._check_departures(target, statuses, last_success, now)

    def _check_departures(self, target: str, statuses: dict[str, list[str]], last_success: float, now: float) -> None:
        """Agents logged out through the API show as LOGGED_OUT after a clean poll (one
        that started after the logout and after the target's last fault episode)."""
        if any(episode.target == target for episode in self.episodes):
            return
        clean = self.clean_since.get(target, 0.0)
        for user, moment in self.departed.items():
            if target != ACCOUNT or user not in self.membership[target] or now - moment > LOGGED_OUT_FOR:
                continue
            if last_success - POLL_TIMEOUT <= max(moment, clean):
                continue  # no poll shown yet that surely started after both
            self.figures.departures_seen += 1
            if statuses.get(user) != ["LOGGED_OUT"]:
                self.problem(f"{target}: agent {user}, logged out {now - moment:.1f} s ago, shows {statuses.get(user)}")

    def _count_log_lines(self) -> None:
        for line in (self.workdir / "exporter.log").read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                self.problem(f"a log line is not JSON: {line[:200]!r}")
                continue
            if record.get("target") and record["level"] == "warn" and "poll failed" in record["msg"]:
                self.figures.failure_warnings += 1
            if record.get("target") and "recovered" in record["msg"]:
                self.figures.recoveries += 1
            if self.token in line:
                self.problem("the token is in the exporter's log")

    def problem(self, text: str) -> None:
        if len(self.figures.problems) < 1000:
            self.figures.problems.append(text)


def run_soak(duration: float, workdir: Path, *, agents: int = 120, seed: int = 1,
             progress: Callable[[str], None] = lambda text: None) -> Figures:
    """Start a simulator and an exporter in `workdir`, soak for `duration` seconds, stop them."""
    with Processes(workdir) as procs:
        soak = Soak(procs, workdir, agents=agents, seed=seed)
        try:
            return soak.run(duration, progress)
        finally:
            soak.http.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds to soak (default 600)")
    parser.add_argument("--agents", type=int, default=120, help="simulated agents (default 120)")
    parser.add_argument("--seed", type=int, default=1, help="simulator and schedule seed (default 1)")
    args = parser.parse_args(argv)
    if args.duration < 10:
        parser.error("--duration: at least 10 seconds, to compare two halves")
    workdir = Path(tempfile.mkdtemp(prefix="convoso-soak-"))
    print(f"soaking for {args.duration:g} s (work folder {workdir})", flush=True)
    figures = run_soak(args.duration, workdir, agents=args.agents, seed=args.seed,
                       progress=lambda text: print(text, flush=True))
    for line in figures.lines():
        print(line)
    if figures.problems or figures.duplicates:
        print(f"process logs kept in {workdir}", file=sys.stderr)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
