"""The living contact center behind the simulator: agents, queues, campaigns, counters.

Pure state, no I/O. Everything is deterministic from `seed` (one `random.Random`),
and time comes only from the injectable `clock` (simulated seconds) and `start_wall`
(the wall-clock time the simulation starts at), so tests advance a `FakeClock`
instead of sleeping.

The model:
- each queue belongs to one campaign; agents are spread round-robin over queues and
  work for their queue's campaign; campaigns and queues can be added and removed at
  run time (`layout.py`): a removed queue's agents move round-robin to the queues left;
- agents cycle READY → RINGING → INCALL (→ TRANSFER) → WRAP → READY, sometimes
  PAUSED after wrap-up, rarely LOGGED_OUT (and back in a few minutes later);
- a call reaching an agent is an answered call: the dialer also places unanswered
  dials (outbound), each dial uses up a dialable lead; when a queue runs out of
  leads a fresh list is loaded (new list_id, full lead count);
- drops: for every call an agent takes, `r / (1 - r)` (jittered) is added to the
  queue's drop debt and each whole unit is one dropped (answered, abandoned) call,
  so dropped / answered converges to the drop ratio `r`;
- outcomes: a call an agent takes was answered by a machine (the agent marks it AM;
  a share `machine_share` of answered calls, `machine.py`) or by a live person; a
  dropped call is a live person nobody was free for. So `answered` (and
  `queue_answered`) counts machine answers + live answers agents handled + dropped,
  and the legal rate dropped ÷ (live handled + dropped) is r ÷ (1 − machine share);
- counters are "today": they reset at local midnight in the center's `timezone`
  (an IANA name, "UTC" by default; `clock.py`);
- LOGGED_OUT agents stay in search results (status LOGGED_OUT, counted in
  agent_total), as the reference lists LOGGED_OUT among the statuses it returns;
- `truth()` is the ground truth tests hold the exporter against (`truth.py`).

The simulation advances lazily in whole seconds ("ticks"): every call steps it from
the last tick to `clock()`, processing agent state changes in time order from a
heap. A clock jump longer than `MAX_CATCHUP` seconds is skipped: the center resumes
as it was, `MAX_CATCHUP` seconds before now (bounded work after a suspend).
"""

from __future__ import annotations

import datetime
import heapq
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence

from convoso_exporter.simulator.clock import Calendar, FakeClock
from convoso_exporter.simulator.daybook import DayBook, Rows, summarize
from convoso_exporter.simulator.layout import Layout
from convoso_exporter.simulator.machine import Machine
from convoso_exporter.simulator.model import (
    LOGGED_OUT,
    LOGGED_OUT_TIME,
    MACHINE_SHARE,
    MAX_CATCHUP,
    AgentState,
    NotFound,
    QueueState,
    Selection,
    UnknownScope,
    check_count,
    check_ratio,
    check_sizes,
    parse_skills,
)
from convoso_exporter.simulator.scope import build_selection, totals
from convoso_exporter.simulator.truth import Ledger
from convoso_exporter.web.vendor_http import USER_NOT_FOUND

__all__ = ["MAX_CATCHUP", "ContactCenter", "FakeClock", "NotFound", "Selection", "UnknownScope", "parse_skills"]

ONE_DAY = datetime.timedelta(days=1)


class ContactCenter:
    """A simulated Convoso account; `search` and `logout` answer like the API."""

    def __init__(
        self,
        *,
        agents: int = 50,
        campaigns: int = 3,
        queues: int = 4,
        skills: Sequence[str] = ("english", "spanish", "sales", "support"),
        seed: int = 1,
        drop_ratio: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        start_wall: float | None = None,
        leads_per_queue: int = 5000,
        timezone: str = "UTC",
        machine_share: float = MACHINE_SHARE,
    ) -> None:
        check_sizes(agents, campaigns, queues, leads_per_queue)
        self._configured_ratio = check_ratio(drop_ratio)
        self._configured_share = check_ratio(machine_share, "machine share")
        self._calendar = Calendar(timezone)
        self._clock = clock
        self._origin = clock()
        # The one wall-clock read, when the caller did not fix the start.
        self._start_wall = time.time() if start_wall is None else float(start_wall)
        self._skills = parse_skills(skills)
        self._tick = 0
        self._day = self._calendar.date(self._start_wall)
        self._day_end = self._tick_at(self._calendar.day_start(self._day + ONE_DAY))
        self.version = 0
        rng = random.Random(seed)
        self._book = DayBook()
        self._book.open_day(self._day.isoformat())
        self._machine = Machine(
            rng, drop_ratio=self._configured_ratio, leads_per_queue=leads_per_queue, daybook=self._book,
            machine_share=self._configured_share, outcomes=random.Random(f"{seed}/outcomes"),
        )
        self._ledger = Ledger()
        self._layout = Layout(rng, campaigns=campaigns, queues=queues, leads_per_queue=leads_per_queue)
        into_day = self._start_wall - self._calendar.day_start(self._day)
        self._agents = [
            self._machine.make_agent(
                index, self._layout.queues[index % queues], self._skills, self._start_wall, into_day,
                self._calendar.wall_text,
            )
            for index in range(agents)
        ]
        self._machine.warm_up(self._layout.queues, self._agents)
        self._by_user = {agent.user_id: agent for agent in self._agents}
        self._heap = [(agent.next_change, agent.index) for agent in self._agents]
        heapq.heapify(self._heap)
        self._selections: dict[tuple, Selection] = {}

    # --- listings -------------------------------------------------------------------

    def campaign_ids(self) -> list[str]:
        return [campaign.campaign_id for campaign in self._layout.campaigns]

    def queue_ids(self) -> list[str]:
        return [queue.queue_id for queue in self._layout.queues]

    def agent_ids(self) -> list[str]:
        return [agent.user_id for agent in self._agents]

    def campaigns(self) -> list[dict]:
        """[{"campaign_id", "campaign_name", "queue_ids"}], in id order."""
        return self._layout.listed_campaigns()

    def queues(self) -> list[dict]:
        """[{"queue_id", "queue_name", "campaign_id"}], in id order."""
        return self._layout.listed_queues()

    def removed_ids(self) -> tuple[set[str], set[str]]:
        """(campaign ids, queue ids) removed so far (never reused)."""
        return set(self._layout.removed_campaign_ids), set(self._layout.removed_queue_ids)

    @property
    def skills(self) -> tuple[str, ...]:
        return self._skills

    @property
    def timezone(self) -> str:
        return self._calendar.name

    # --- drop ratio -----------------------------------------------------------------

    @property
    def drop_ratio(self) -> float:
        """The drop ratio in effect (the configured one unless a surge is on)."""
        return self._machine.ratio

    def set_drop_ratio(self, ratio: float | None) -> None:
        """Surge on (`0.2`) or off (`None`: back to the configured ratio)."""
        self.now()  # calls until now were made at the old ratio
        self._machine.ratio = self._configured_ratio if ratio is None else check_ratio(ratio)
        self.version += 1

    @property
    def machine_share(self) -> float:
        """The share of answered calls answered by a machine, in effect."""
        return self._machine.machine_share

    def set_machine_share(self, share: float | None) -> None:
        """A new share (`0.4`), or `None`: back to the configured one."""
        self.now()
        self._machine.machine_share = self._configured_share if share is None else check_ratio(share, "machine share")
        self.version += 1

    # --- campaigns and queues at run time -------------------------------------------

    def add_campaign(self, name: str | None = None, *, agents: int = 0) -> str:
        """A new campaign with its first queue (see `add_queue`); returns its id."""
        self.now()
        check_count("agents", agents)
        campaign = self._layout.new_campaign(name)
        self.add_queue(campaign.campaign_id, agents=agents)
        return campaign.campaign_id

    def add_queue(self, campaign_id: str, name: str | None = None, *, agents: int = 0) -> str:
        """A new queue of a campaign (UnknownScope if there is none); returns its id.

        It starts with `agents` agents (default none), each taken from whichever
        queue has the most at the time (its highest user id)."""
        now = self.now()
        check_count("agents", agents)
        queue = self._layout.new_queue(self._layout.campaign(campaign_id), name)
        for _ in range(min(agents, len(self._agents))):
            crowd = Counter(agent.queue for agent in self._agents if agent.queue is not queue)
            if not crowd:
                break
            biggest = max(crowd, key=crowd.__getitem__)
            self._move(next(a for a in reversed(self._agents) if a.queue is biggest), queue, now)
        self._changed()
        return queue.queue_id

    def remove_queue(self, queue_id: str) -> None:
        """UnknownScope if there is no such queue; ValueError for the account's or
        its campaign's last queue. Its agents move round-robin to the queues left."""
        now = self.now()
        queue = self._layout.queue(queue_id)
        self._layout.remove_queue(queue)
        self._ledger.queue_removed(queue)
        self._rehome(lambda agent: agent.queue is queue, now)

    def remove_campaign(self, campaign_id: str) -> None:
        """Removes its queues too (ValueError if they are the account's last)."""
        now = self.now()
        campaign = self._layout.campaign(campaign_id)
        queues = list(campaign.queues)
        self._layout.remove_campaign(campaign)
        for queue in queues:
            self._ledger.queue_removed(queue)
        self._ledger.campaign_removed(campaign)
        self._rehome(lambda agent: agent.queue.campaign is campaign, now)

    def _rehome(self, orphaned: Callable[[AgentState], bool], now: int) -> None:
        queues = self._layout.queues
        for turn, agent in enumerate([agent for agent in self._agents if orphaned(agent)]):
            self._move(agent, queues[turn % len(queues)], now)
        self._changed()

    def _move(self, agent: AgentState, queue: QueueState, now: int) -> None:
        """The agent's time so far is booked where it was; it enters `queue` as it is."""
        self._machine.end_stay(agent, now)
        queue.entries[agent.status] += 1
        agent.queue = queue
        self._book.place(agent)
        agent.queue_assignment = self.wall_text(now)
        agent.version += 1

    def _changed(self) -> None:
        """The layout changed: cached selections are stale, cached answers too."""
        self._selections.clear()
        self.version += 1

    # --- the API --------------------------------------------------------------------

    def search(self, campaign_id=None, queue_id=None, user_id=None, skills=None) -> dict:
        """The documented flat answer, or the documented `success: false` error."""
        try:
            selection = self.select(campaign_id, queue_id, user_id, skills)
        except NotFound as missing:
            return missing.as_dict()
        now = self.now()
        return {"agents": [agent.record(now) for agent in selection.agents], **self.totals(selection)}

    def logout(self, user_id: str | None) -> dict:
        if not user_id:
            return NotFound(*USER_NOT_FOUND).as_dict()
        agent = self._by_user.get(user_id)
        if agent is None:
            return NotFound(*USER_NOT_FOUND).as_dict()
        now = self.now()
        if agent.status == LOGGED_OUT:
            return NotFound(6012, "User is not logged in").as_dict()
        self._machine.end_stay(agent, now)
        self._machine.enter(agent, LOGGED_OUT, now, LOGGED_OUT_TIME)
        heapq.heappush(self._heap, (agent.next_change, agent.index))
        self.version += 1
        return {"success": True}

    def select(self, campaign_id=None, queue_id=None, user_id=None, skills=None) -> Selection:
        """The agents and queues a search covers (filters combine); raises NotFound."""
        campaign_id, queue_id, user_id = campaign_id or None, queue_id or None, user_id or None
        wanted = parse_skills(skills)
        key = (campaign_id, queue_id, user_id, wanted)
        selection = self._selections.get(key)
        if selection is None:
            selection = build_selection(key, self._layout, self._agents, self._by_user)
            if len(self._selections) >= 1024:  # arbitrary skill strings must not grow it forever
                self._selections.clear()
            self._selections[key] = selection
        return selection

    def totals(self, selection: Selection) -> dict:
        """The documented root fields for a selection (as of the last tick)."""
        return totals(selection)

    def wall_text(self, tick: int) -> str:
        """"YYYY-MM-DD HH:MM:SS" of a tick, local time in the center's zone, no zone
        (as the live service writes it)."""
        return self._calendar.wall_text(self._start_wall + tick)

    # --- ground truth ---------------------------------------------------------------

    def truth(self) -> dict:
        """What really happened, up to now (steps the simulation to the clock first):
        agent-seconds and entries per place and status since the start, the today
        counters per local day, and per local day the calls by outcome and the agents'
        seconds by activity. The shape, with an example: `truth.py`."""
        tick = self.now()
        seconds, entries = self._ledger.agent_time(self._layout, self._agents, tick)
        today, day = self._ledger.day(self._layout), self._day.isoformat()
        return {
            "tick": tick,
            "wall": self._start_wall + tick,
            "timezone": self._calendar.name,
            "today": day,
            "agents": len(self._agents),
            "skipped_seconds": self._ledger.skipped,
            "agent_seconds": seconds,
            "entries": entries,
            "days": {**self._ledger.days, day: today},
            "performance": {**self._book.summaries, day: summarize(self.day_rows(day), today)},
        }

    def day_rows(self, day: str) -> Rows:
        """The day book's rows of a local day ("2026-01-31"), today's up to now (copies);
        {} for a day not kept (`DAYS_KEPT`)."""
        return self._book.rows(day, self._agents, self.now())

    def kept_days(self) -> list[str]:
        """The local days the day book keeps, oldest first (today last)."""
        self.now()
        return sorted(self._book.days)

    # --- time -----------------------------------------------------------------------

    def now(self) -> int:
        """Step the simulation up to the clock; return the current tick (whole seconds)."""
        tick = int(self._clock() - self._origin)
        if tick > self._tick:
            self._advance_to(tick)
        return self._tick

    def _advance_to(self, tick: int) -> None:
        if tick - self._tick > MAX_CATCHUP:
            self._skip(tick - self._tick - MAX_CATCHUP)
        heap = self._heap
        agents = self._agents
        step = self._machine.step
        pop, push = heapq.heappop, heapq.heappush
        day_end = self._day_end
        while heap and heap[0][0] <= tick:
            at, index = pop(heap)
            agent = agents[index]
            if at != agent.next_change:
                continue  # superseded by a logout
            if at >= day_end:
                self._roll_days(at)
                day_end = self._day_end
            step(agent, at)
            push(heap, (agent.next_change, index))
        if tick >= day_end:
            self._roll_days(tick)
        self._tick = tick
        self.version += 1

    def _skip(self, seconds: int) -> None:
        """Freeze through a long clock jump: every agent's timeline moves by `seconds`."""
        for agent in self._agents:
            agent.since += seconds
            agent.next_change += seconds
            agent.accrued_from += seconds
            agent.row_from += seconds
        self._heap = [(agent.next_change, agent.index) for agent in self._agents]
        heapq.heapify(self._heap)
        self._tick += seconds
        self._ledger.skipped += seconds

    def _tick_at(self, wall: float) -> int:
        """The first tick at or after a wall-clock time."""
        return math.ceil(wall - self._start_wall)

    def _roll_days(self, tick: int) -> None:
        """A new local day (or several, after a skipped jump): today's counters start
        again from zero, once the ledger has written down the day that ended."""
        while tick >= self._day_end:
            self._ledger.close_day(self._day.isoformat(), self._layout)
            self._book.close_day(self._day_end, self._agents, self._ledger.days[self._day.isoformat()])
            for tally in self._layout.tallies():
                tally.calls_today = tally.answered = tally.dropped = 0
            for agent in self._agents:
                agent.calls_today = 0
                agent.version += 1
            self._day += ONE_DAY
            self._book.open_day(self._day.isoformat(), self._agents)
            self._day_end = self._tick_at(self._calendar.day_start(self._day + ONE_DAY))

