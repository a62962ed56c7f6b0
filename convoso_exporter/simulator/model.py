"""The simulated contact center's vocabulary: statuses, timings, and the state records
of campaigns, queues and agents (plain data; `center.py` moves them, `layout.py` builds
and rearranges them, `truth.py` reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
STATUSES = tuple(STATUS_LABELS)
ON_CALL = frozenset((RINGING, INCALL, TRANSFER, WRAP))
# What user-activity search counts, decided here once: an agent is available when READY
# (free for the next call) and logged in in every status but LOGGED_OUT.
AVAILABLE = frozenset((READY,))
LOGGED_IN = frozenset(STATUSES) - {LOGGED_OUT}

# How long each state lasts, in whole seconds (uniform between the bounds).
READY_WAIT = (5, 60)
RINGING_TIME = (2, 10)
CALL_TIME = (30, 600)  # triangular, most calls are short
CALL_MODE = 150
TRANSFER_TIME = (5, 40)
WRAP_TIME = (5, 60)
MACHINE_CALL_TIME = (15, 45)  # an answering machine: the agent hears the greeting, leaves a message or not, marks AM
MACHINE_WRAP_TIME = (5, 30)
PAUSE_TIME = (60, 900)
LOGGED_OUT_TIME = (300, 1800)

TRANSFER_CHANCE = 0.05  # of calls
PAUSE_CHANCE = 0.04  # after wrap-up
LOGOUT_CHANCE = 0.004  # after wrap-up
INBOUND_SHARE = 0.15  # of calls, for agents not inbound-only
MAX_EXTRA_DIALS = 3  # unanswered dials per answered outbound call, at most
MACHINE_SHARE = 0.30  # of answered calls, answered by a machine (the default)
MAX_MACHINE_DEBT = 3.0  # machine answers a queue may owe (inbound calls cannot pay them)
DAYS_KEPT = 62  # local days of ground truth kept (today included): a 30-day window twice

MAX_CATCHUP = 3600
DAY = 86400
SHIFT = 8 * 3600
TYPICAL_CYCLE = 450  # seconds from one call to the next, roughly

# Where a warm-started agent is at t=0, and how long that status lasts (None: a call).
START_WEIGHTS = {READY: 25, RINGING: 3, INCALL: 48, TRANSFER: 1, WRAP: 12, PAUSED: 8, LOGGED_OUT: 3}
START_BOUNDS: dict[str, tuple[int, int] | None] = {
    READY: READY_WAIT,
    RINGING: RINGING_TIME,
    INCALL: None,
    TRANSFER: TRANSFER_TIME,
    WRAP: WRAP_TIME,
    PAUSED: PAUSE_TIME,
    LOGGED_OUT: LOGGED_OUT_TIME,
}


class NotFound(Exception):
    """A documented `success: false` answer (unknown campaign, queue, user...)."""

    def __init__(self, code: int, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error

    def as_dict(self) -> dict:
        return {"success": False, "code": self.code, "error": self.error}


class UnknownScope(LookupError):
    """A control request named a campaign or queue the account does not have."""

    def __str__(self) -> str:  # KeyError-style quoting would be noise
        return str(self.args[0])


@dataclass(eq=False, slots=True)
class Tally:
    """Today's call counters of something that is no longer a queue (removed today)."""

    calls_today: int = 0
    answered: int = 0
    dropped: int = 0

    def add(self, other: Tally | QueueState) -> None:
        self.calls_today += other.calls_today
        self.answered += other.answered
        self.dropped += other.dropped


@dataclass(eq=False, slots=True)
class CampaignState:
    campaign_id: str
    campaign_name: str
    queues: list[QueueState]
    # Today's counts of this campaign's queues removed today: the campaign's
    # counters do not fall when a queue goes (the calls were made).
    retired: Tally = field(default_factory=Tally)
    queues_made: int = 0  # names the next queue


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
    machine_debt: float = 0.0
    # Ground truth, per status: agent-seconds accrued here (up to each agent's
    # `accrued_from`) and entries into the status here.
    seconds: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    entries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


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
    accrued_from: int = 0  # tick up to which this status's time is in the ground truth
    machine: bool = False  # the current (or last) call was answered by a machine
    row: list[int] | None = None  # its day-book row now (`daybook.py`)
    row_from: int = 0  # tick up to which this status's time is in that row
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
    """What one search covers: its agents (in id order), its queues, and what its
    call counters sum (its queues, plus today's removed ones for a whole campaign or
    the whole account)."""

    key: tuple
    campaign_id: str | None
    agents: tuple[AgentState, ...]
    queues: tuple[QueueState, ...]
    counted: tuple[QueueState | Tally, ...]

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


# --- what the center is built and changed with, checked -------------------------
def check_sizes(agents: int, campaigns: int, queues: int, leads_per_queue: int) -> None:
    for name, value, least in (("agents", agents, 0), ("campaigns", campaigns, 1), ("leads_per_queue", leads_per_queue, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if isinstance(queues, bool) or not isinstance(queues, int) or queues < campaigns:
        raise ValueError(f"queues must be an integer >= campaigns ({campaigns}): every campaign needs a queue, got {queues!r}")


def check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def check_ratio(ratio: float, name: str = "drop ratio") -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {ratio!r}")
    return float(ratio)
