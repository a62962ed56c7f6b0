"""The living contact center behind the simulator: agents, queues, campaigns, counters.

Pure state, no I/O. Everything is deterministic from `seed` (one `random.Random`),
and time comes only from the injectable `clock` (simulated seconds) and `start_wall`
(the wall-clock time the simulation starts at), so tests advance a `FakeClock`
instead of sleeping.

The model:
- each queue belongs to one campaign; agents are spread round-robin over queues and
  work for their queue's campaign;
- agents cycle READY → RINGING → INCALL (→ TRANSFER) → WRAP → READY, sometimes
  PAUSED after wrap-up, rarely LOGGED_OUT (and back in a few minutes later);
- a call reaching an agent is an answered call: the dialer also places unanswered
  dials (outbound), each dial uses up a dialable lead; when a queue runs out of
  leads a fresh list is loaded (new list_id, full lead count);
- drops: for every call an agent takes, `r / (1 - r)` (jittered) is added to the
  queue's drop debt and each whole unit is one dropped (answered, abandoned) call,
  so dropped / answered converges to the drop ratio `r`;
- counters are "today": they reset at midnight UTC of the simulated wall clock;
- LOGGED_OUT agents stay in search results (status LOGGED_OUT, counted in
  agent_total), as the reference lists LOGGED_OUT among the statuses it returns.

The simulation advances lazily in whole seconds ("ticks"): every call steps it from
the last tick to `clock()`, processing agent state changes in time order from a
heap. A clock jump longer than `MAX_CATCHUP` seconds is skipped: the center resumes
as it was, `MAX_CATCHUP` seconds before now (bounded work after a suspend).
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

READY, RINGING, INCALL, TRANSFER, WRAP, PAUSED, LOGGED_OUT = (
    "READY",
    "RINGING",
    "INCALL",
    "TRANSFER",
    "WRAP",
    "PAUSED",
    "LOGGED_OUT",
)

STATUS_LABELS: dict[str, str] = {
    READY: "Ready for calls",
    RINGING: "Call ringing",
    INCALL: "On a call",
    TRANSFER: "Transferring call",
    WRAP: "Wrap-up",
    PAUSED: "Paused",
    LOGGED_OUT: "Logged out",
}
ON_CALL = frozenset((RINGING, INCALL, TRANSFER, WRAP))

# How long each state lasts, in whole seconds (uniform between the bounds).
READY_WAIT = (5, 60)
RINGING_TIME = (2, 10)
CALL_TIME = (30, 600)  # triangular, most calls are short
CALL_MODE = 150
TRANSFER_TIME = (5, 40)
WRAP_TIME = (5, 60)
PAUSE_TIME = (60, 900)
LOGGED_OUT_TIME = (300, 1800)

TRANSFER_CHANCE = 0.05  # of calls
PAUSE_CHANCE = 0.04  # after wrap-up
LOGOUT_CHANCE = 0.004  # after wrap-up
INBOUND_SHARE = 0.15  # of calls, for agents not inbound-only
MAX_EXTRA_DIALS = 3  # unanswered dials per answered outbound call, at most

MAX_CATCHUP = 3600
DAY = 86400
SHIFT = 8 * 3600
TYPICAL_CYCLE = 450  # seconds from one call to the next, roughly

# Where a warm-started agent is at t=0.
START_WEIGHTS = {READY: 25, RINGING: 3, INCALL: 48, TRANSFER: 1, WRAP: 12, PAUSED: 8, LOGGED_OUT: 3}

FIRST_NAMES = (
    "Jane", "John", "Maria", "Carlos", "Aisha", "Wei", "Priya", "Liam", "Olivia", "Noah",
    "Sofia", "Mateo", "Emma", "Lucas", "Ava", "Diego", "Mia", "Omar", "Chloe", "Kenji",
    "Fatima", "Ethan", "Grace", "Hugo", "Isabel", "Jamal", "Keira", "Leon", "Nadia", "Oscar",
)
LAST_NAMES = (
    "Smith", "Garcia", "Johnson", "Martinez", "Brown", "Lopez", "Nguyen", "Patel", "Kim", "Davis",
    "Rodriguez", "Wilson", "Hernandez", "Taylor", "Moore", "Clark", "Lewis", "Walker", "Young", "Allen",
)
CAMPAIGN_THEMES = (
    "Solar Savings", "Medicare Advantage", "Auto Warranty", "Home Insurance", "Debt Relief",
    "Final Expense", "Mortgage Refi", "Home Security", "Customer Retention", "Inbound Sales",
)
QUEUE_KINDS = ("Main", "Spanish", "Callbacks", "Overflow", "Retention", "VIP")
CONNECTION_TYPES = ("softphone", "softphone", "softphone", "VoIP", "VoIP", "desk phone")


class FakeClock:
    """A clock for tests: returns the time it was set to; `advance` moves it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock does not go backwards ({seconds} s)")
        self.now += seconds


class NotFound(Exception):
    """A documented `success: false` answer (unknown campaign, queue, user...)."""

    def __init__(self, code: int, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error

    def as_dict(self) -> dict:
        return {"success": False, "code": self.code, "error": self.error}


@dataclass(eq=False, slots=True)
class CampaignState:
    campaign_id: str
    campaign_name: str
    queues: list["QueueState"]


@dataclass(eq=False, slots=True)
class QueueState:
    queue_id: str
    queue_name: str
    campaign: CampaignState
    list_id: int
    dialable_leads: int
    next_lead: int
    calls_today: int = 0
    answered: int = 0
    dropped: int = 0
    drop_debt: float = 0.0


@dataclass(eq=False, slots=True)
class AgentState:
    index: int
    user_id: str
    user_full_name: str
    queue: QueueState
    extension: str
    connection_type: str
    skills: tuple[str, ...]
    inbound_only: bool
    queue_assignment: str
    status: str = READY
    since: int = 0  # tick the current status started at
    next_change: int = 0  # tick of the next status change
    call_type: str = "outbound"
    lead_id: str = ""
    call_log_id: str = ""
    list_id: str = ""
    calls_today: int = 0
    total_calls: int = 0
    # Bumped on every change except the passing of time; renderers cache by it.
    version: int = 0

    @property
    def on_call(self) -> bool:
        return self.status in ON_CALL

    def record(self, now: int) -> dict:
        """The documented agent object. While idle it keeps its last call's
        call_type/lead_id/call_log_id, like the reference's READY example."""
        queue = self.queue
        seconds = max(0, now - self.since)
        return {
            "user_id": self.user_id,
            "user_full_name": self.user_full_name,
            "campaign_id": queue.campaign.campaign_id,
            "campaign_name": queue.campaign.campaign_name,
            "queue_id": queue.queue_id,
            "queue_name": queue.queue_name,
            "queue_assignment": self.queue_assignment,
            "list_id": self.list_id,
            "extension": self.extension,
            "channel_type": "phone",
            "call_type": self.call_type,
            "lead_id": self.lead_id,
            "call_log_id": self.call_log_id,
            "calls_today": self.calls_today,
            "total_calls": self.total_calls,
            "status": self.status,
            "status_label": STATUS_LABELS[self.status],
            "status_time_sec": seconds,
            "status_time_mmss": mmss(seconds),
            "connection_type": self.connection_type,
            "skill_options": ",".join(self.skills),
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """What one search covers: its agents (in id order) and the queues its counters sum."""

    key: tuple
    campaign_id: str | None
    agents: tuple[AgentState, ...]
    queues: tuple[QueueState, ...]

    @property
    def campaigns(self) -> tuple[CampaignState, ...]:
        return tuple(dict.fromkeys(queue.campaign for queue in self.queues))


def mmss(seconds: int) -> str:
    """"05:00"; minutes keep counting past an hour ("75:30")."""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes:02d}:{secs:02d}"


def parse_skills(skills: str | Sequence[str] | None) -> tuple[str, ...]:
    """"english, sales" or ["english", "sales"] → ("english", "sales"); blanks dropped."""
    if skills is None:
        return ()
    items = skills.split(",") if isinstance(skills, str) else skills
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


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
    ) -> None:
        _check_sizes(agents, campaigns, queues, leads_per_queue)
        self._configured_ratio = _check_ratio(drop_ratio)
        self._ratio = self._configured_ratio
        self._rng = random.Random(seed)
        self._clock = clock
        self._origin = clock()
        # The one wall-clock read, when the caller did not fix the start.
        self._start_wall = time.time() if start_wall is None else float(start_wall)
        self._leads_per_queue = leads_per_queue
        self._skills = parse_skills(skills)
        self._tick = 0
        self._day_end = self._next_midnight(0)
        self._next_call_log = 700_000_000 + self._rng.randrange(1_000_000)
        self.version = 0
        self._campaigns = self._make_campaigns(campaigns)
        self._queues = self._make_queues(queues)
        self._agents = [self._make_agent(index) for index in range(agents)]
        self._warm_up_counters()
        self._by_user = {agent.user_id: agent for agent in self._agents}
        self._by_campaign = {c.campaign_id: c for c in self._campaigns}
        self._by_queue = {q.queue_id: q for q in self._queues}
        self._heap = [(agent.next_change, agent.index) for agent in self._agents]
        heapq.heapify(self._heap)
        self._selections: dict[tuple, Selection] = {}

    # --- listings -------------------------------------------------------------------

    def campaign_ids(self) -> list[str]:
        return [campaign.campaign_id for campaign in self._campaigns]

    def queue_ids(self) -> list[str]:
        return [queue.queue_id for queue in self._queues]

    def agent_ids(self) -> list[str]:
        return [agent.user_id for agent in self._agents]

    def campaigns(self) -> list[dict]:
        return [
            {
                "campaign_id": c.campaign_id,
                "campaign_name": c.campaign_name,
                "queue_ids": [q.queue_id for q in c.queues],
            }
            for c in self._campaigns
        ]

    def queues(self) -> list[dict]:
        return [
            {"queue_id": q.queue_id, "queue_name": q.queue_name, "campaign_id": q.campaign.campaign_id}
            for q in self._queues
        ]

    @property
    def skills(self) -> tuple[str, ...]:
        return self._skills

    # --- drop ratio -----------------------------------------------------------------

    @property
    def drop_ratio(self) -> float:
        """The drop ratio in effect (the configured one unless a surge is on)."""
        return self._ratio

    def set_drop_ratio(self, ratio: float | None) -> None:
        """Surge on (`0.2`) or off (`None`: back to the configured ratio)."""
        self.now()  # calls until now were made at the old ratio
        self._ratio = self._configured_ratio if ratio is None else _check_ratio(ratio)
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
            return NotFound(6006, "User not found").as_dict()
        agent = self._by_user.get(user_id)
        if agent is None:
            return NotFound(6006, "User not found").as_dict()
        now = self.now()
        if agent.status == LOGGED_OUT:
            return NotFound(6012, "User is not logged in").as_dict()
        self._enter(agent, LOGGED_OUT, now, LOGGED_OUT_TIME)
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
            selection = self._build_selection(key)
            if len(self._selections) >= 1024:  # arbitrary skill strings must not grow it forever
                self._selections.clear()
            self._selections[key] = selection
        return selection

    def _build_selection(self, key: tuple) -> Selection:
        campaign_id, queue_id, user_id, wanted = key
        queues = self._queues
        agents = self._agents
        if campaign_id is not None:
            campaign = self._by_campaign.get(campaign_id)
            if campaign is None:
                raise NotFound(6026, "Campaign not found")
            queues = [queue for queue in queues if queue.campaign is campaign]
        if queue_id is not None:
            only = self._by_queue.get(queue_id)
            if only is None:
                raise NotFound(6041, "Queue not found")
            queues = [queue for queue in queues if queue is only]
        if user_id is not None:
            agent = self._by_user.get(user_id)
            if agent is None:
                raise NotFound(6006, "User not found")
            queues = [queue for queue in queues if queue is agent.queue]
            agents = [agent]
        in_scope = set(queues)
        agents = [agent for agent in agents if agent.queue in in_scope]
        if wanted:  # agents having ANY of the skills; counters of their queues
            agents = [agent for agent in agents if not set(wanted).isdisjoint(agent.skills)]
            staffed = {agent.queue for agent in agents}
            queues = [queue for queue in queues if queue in staffed]
        return Selection(key, campaign_id, tuple(agents), tuple(queues))

    def totals(self, selection: Selection) -> dict:
        """The documented root fields for a selection (as of the last tick)."""
        statuses = Counter(agent.status for agent in selection.agents)
        calls = sum(queue.calls_today for queue in selection.queues)
        answered = sum(queue.answered for queue in selection.queues)
        dropped = sum(queue.dropped for queue in selection.queues)
        return {
            "call_data": {"total_calls": calls, "answered": answered, "dropped": dropped},
            "queue_dialable_leads": sum(queue.dialable_leads for queue in selection.queues),
            "queue_calls_today": calls,
            "queue_dropped": dropped,
            "queue_answered": answered,
            "agent_total": len(selection.agents),
            "agent_incall": statuses[INCALL],
            "agent_ready": statuses[READY],
            "agent_paused": statuses[PAUSED],
        }

    def wall_text(self, tick: int) -> str:
        """"YYYY-MM-DD HH:MM:SS" (UTC, no zone, as the live service writes it) of a tick."""
        return _wall_text(self._start_wall + tick)

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
        while heap and heap[0][0] <= tick:
            at, index = heapq.heappop(heap)
            agent = agents[index]
            if at != agent.next_change:
                continue  # superseded by a logout
            self._roll_day(at)
            self._step(agent, at)
            heapq.heappush(heap, (agent.next_change, index))
        self._roll_day(tick)
        self._tick = tick
        self.version += 1

    def _skip(self, seconds: int) -> None:
        """Freeze through a long clock jump: every agent's timeline moves by `seconds`."""
        for agent in self._agents:
            agent.since += seconds
            agent.next_change += seconds
        self._heap = [(agent.next_change, agent.index) for agent in self._agents]
        heapq.heapify(self._heap)
        self._tick += seconds

    def _next_midnight(self, tick: int) -> int:
        wall = self._start_wall + tick
        return int((wall // DAY + 1) * DAY - self._start_wall)

    def _roll_day(self, tick: int) -> None:
        """A new day at midnight UTC: today's counters start again from zero."""
        if tick < self._day_end:
            return
        for queue in self._queues:
            queue.calls_today = queue.answered = queue.dropped = 0
        for agent in self._agents:
            agent.calls_today = 0
            agent.version += 1
        self._day_end = self._next_midnight(tick)

    # --- the state machine ----------------------------------------------------------

    def _step(self, agent: AgentState, at: int) -> None:
        rng = self._rng
        status = agent.status
        if status == READY:
            self._connect(agent, at)
            self._enter(agent, RINGING, at, RINGING_TIME)
        elif status == RINGING:
            agent.calls_today += 1
            agent.total_calls += 1
            self._enter(agent, INCALL, at, None)
        elif status == INCALL and rng.random() < TRANSFER_CHANCE:
            self._enter(agent, TRANSFER, at, TRANSFER_TIME)
        elif status in (INCALL, TRANSFER):
            self._enter(agent, WRAP, at, WRAP_TIME)
        elif status == WRAP:
            self._after_wrap(agent, at)
        elif status == LOGGED_OUT:
            agent.total_calls = 0  # a new session
            self._enter(agent, READY, at, READY_WAIT)
        else:  # PAUSED
            self._enter(agent, READY, at, READY_WAIT)

    def _after_wrap(self, agent: AgentState, at: int) -> None:
        draw = self._rng.random()
        if draw < LOGOUT_CHANCE:
            self._enter(agent, LOGGED_OUT, at, LOGGED_OUT_TIME)
        elif draw < LOGOUT_CHANCE + PAUSE_CHANCE:
            self._enter(agent, PAUSED, at, PAUSE_TIME)
        else:
            self._enter(agent, READY, at, READY_WAIT)

    def _enter(self, agent: AgentState, status: str, at: int, bounds: tuple[int, int] | None) -> None:
        """`bounds` None: a call's length."""
        agent.status = status
        agent.since = at
        agent.next_change = at + (self._call_length() if bounds is None else self._rng.randint(*bounds))
        agent.version += 1

    def _call_length(self) -> int:
        return int(self._rng.triangular(CALL_TIME[0], CALL_TIME[1], CALL_MODE))

    def _connect(self, agent: AgentState, at: int) -> None:
        """A call answered by a lead reaches this agent; the queue's counters move."""
        rng = self._rng
        queue = agent.queue
        inbound = agent.inbound_only or rng.random() < INBOUND_SHARE
        dials = 1 if inbound else 1 + rng.randint(0, MAX_EXTRA_DIALS)
        queue.calls_today += dials
        queue.answered += 1
        if not inbound:
            self._use_leads(queue, dials)
        self._set_call(agent, "inbound" if inbound else "outbound")
        self._add_drops(queue)

    def _add_drops(self, queue: QueueState) -> None:
        ratio = self._ratio
        # Jitter in [0, 2) keeps the mean, so dropped / answered still converges to the ratio.
        queue.drop_debt += self._rng.uniform(0.0, 2.0) * ratio / (1.0 - ratio)
        while queue.drop_debt >= 1.0:
            queue.drop_debt -= 1.0
            queue.dropped += 1
            queue.answered += 1
            queue.calls_today += 1
            self._use_leads(queue, 1)

    def _use_leads(self, queue: QueueState, count: int) -> None:
        queue.dialable_leads -= count
        if queue.dialable_leads <= 0:  # list exhausted: the next list is loaded
            queue.list_id += 1
            queue.dialable_leads = self._leads_per_queue

    def _set_call(self, agent: AgentState, call_type: str) -> None:
        queue = agent.queue
        queue.next_lead += 1
        self._next_call_log += 1
        agent.call_type = call_type
        agent.lead_id = str(queue.next_lead)
        agent.call_log_id = str(self._next_call_log)
        agent.list_id = str(queue.list_id)

    # --- construction ---------------------------------------------------------------

    def _make_campaigns(self, count: int) -> list[CampaignState]:
        themes = list(CAMPAIGN_THEMES)
        self._rng.shuffle(themes)
        campaigns = []
        for index in range(count):
            theme = themes[index % len(themes)]
            rounds = index // len(themes)
            name = theme if rounds == 0 else f"{theme} {rounds + 1}"
            campaigns.append(CampaignState(str(1001 + index), name, []))
        return campaigns

    def _make_queues(self, count: int) -> list[QueueState]:
        queues = []
        for index in range(count):
            campaign = self._campaigns[index % len(self._campaigns)]
            kind = QUEUE_KINDS[len(campaign.queues) % len(QUEUE_KINDS)]
            rounds = len(campaign.queues) // len(QUEUE_KINDS)
            name = f"{campaign.campaign_name} {kind}" + (f" {rounds + 1}" if rounds else "")
            queue = QueueState(
                queue_id=str(2001 + index),
                queue_name=name,
                campaign=campaign,
                list_id=50_000 + 100 * index,
                dialable_leads=int(self._leads_per_queue * self._rng.uniform(0.5, 1.0)) or 1,
                next_lead=1_000_000 * (index + 1),
            )
            campaign.queues.append(queue)
            queues.append(queue)
        return queues

    def _make_agent(self, index: int) -> AgentState:
        rng = self._rng
        skill_count = rng.randint(1, min(3, len(self._skills))) if self._skills else 0
        # Calls so far today, as if the agent had worked since midnight (a shift at most).
        typical = min(self._start_wall % DAY, SHIFT) // TYPICAL_CYCLE
        calls_today = rng.randint(int(typical) // 2, int(typical))
        agent = AgentState(
            index=index,
            user_id=str(100_001 + index),
            user_full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            queue=self._queues[index % len(self._queues)],
            extension=str(1001 + index),
            connection_type=rng.choice(CONNECTION_TYPES),
            skills=tuple(rng.sample(self._skills, skill_count)),
            inbound_only=rng.random() < 0.1,
            queue_assignment=_wall_text(self._start_wall - rng.randint(3600, 90 * DAY)),
            calls_today=calls_today,
            total_calls=rng.randint(0, calls_today),
        )
        # Everyone has a last call, so the documented shape never has empty fields.
        self._set_call(agent, "inbound" if agent.inbound_only else "outbound")
        status = rng.choices(list(START_WEIGHTS), weights=list(START_WEIGHTS.values()))[0]
        self._enter(agent, status, 0, _START_BOUNDS.get(status))
        elapsed = rng.randint(0, agent.next_change - 1)  # mid-way through that status
        agent.since -= elapsed
        agent.next_change -= elapsed
        return agent

    def _warm_up_counters(self) -> None:
        """Start mid-day: queue counters agree with the agents' calls so far."""
        ratio = self._ratio
        for queue in self._queues:
            taken = sum(agent.calls_today for agent in self._agents if agent.queue is queue)
            queue.dropped = round(taken * ratio / (1.0 - ratio))
            queue.answered = taken + queue.dropped
            queue.calls_today = queue.answered + int(queue.answered * self._rng.uniform(0.8, 1.5))


_START_BOUNDS: dict[str, tuple[int, int] | None] = {
    READY: READY_WAIT,
    RINGING: RINGING_TIME,
    INCALL: None,
    TRANSFER: TRANSFER_TIME,
    WRAP: WRAP_TIME,
    PAUSED: PAUSE_TIME,
    LOGGED_OUT: LOGGED_OUT_TIME,
}


def _wall_text(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))


def _check_sizes(agents: int, campaigns: int, queues: int, leads_per_queue: int) -> None:
    for name, value, least in (("agents", agents, 0), ("campaigns", campaigns, 1), ("leads_per_queue", leads_per_queue, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if isinstance(queues, bool) or not isinstance(queues, int) or queues < campaigns:
        raise ValueError(f"queues must be an integer >= campaigns ({campaigns}): every campaign needs a queue, got {queues!r}")


def _check_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
        raise ValueError(f"drop ratio must be a number in [0, 1), got {ratio!r}")
    return float(ratio)
