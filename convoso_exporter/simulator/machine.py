"""What happens on the floor: each agent's state machine, the dialer behind it, and the
agents as the center finds them at the start (warm, mid-day).

`Machine.step` is the simulator's hot loop (one call per status change of any agent),
so it is written for speed: no per-step allocation beyond the random draws, and the
ground truth (`truth.py`, `daybook.py`) costs three additions per status change. Whole
numbers are drawn by `draw`, which gives exactly what `random.Random.randint` gives
(same algorithm, same stream: a seed still makes the center it always made) without
randint's three Python-level calls.

Outcomes: a call that reaches an agent was answered by a machine or by a live person.
Each such call adds `s / (1 - r)` (jittered) to its queue's machine debt (`s` the
machine share, `r` the drop ratio) and an outbound call is a machine's while the queue
owes one, so machine answers ÷ answered calls (dropped ones included) converges to `s`.
Inbound calls are always live people (a queue whose calls are nearly all inbound owes
at most `MAX_MACHINE_DEBT`: its share stays lower). A machine's call is short, never
transferred, and its wrap-up short. Dropped calls are live people nobody was free for.
The outcomes draw from their own stream (`outcomes`): at share 0 a seed makes the
center it made before outcomes existed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from convoso_exporter.simulator.daybook import AM, LIVE, SLOTS, DayBook, book
from convoso_exporter.simulator.layout import CONNECTION_TYPES, FIRST_NAMES, LAST_NAMES
from convoso_exporter.simulator.model import (
    CALL_MODE,
    CALL_TIME,
    DAY,
    INBOUND_SHARE,
    INCALL,
    LOGGED_OUT,
    LOGGED_OUT_TIME,
    LOGOUT_CHANCE,
    MACHINE_CALL_TIME,
    MACHINE_WRAP_TIME,
    MAX_EXTRA_DIALS,
    MAX_MACHINE_DEBT,
    PAUSE_CHANCE,
    PAUSE_TIME,
    PAUSED,
    READY,
    READY_WAIT,
    RINGING,
    RINGING_TIME,
    SHIFT,
    START_BOUNDS,
    START_WEIGHTS,
    TRANSFER,
    TRANSFER_CHANCE,
    TRANSFER_TIME,
    TYPICAL_CYCLE,
    WRAP,
    WRAP_TIME,
    AgentState,
    QueueState,
)


class Machine:
    """Agent state changes and the calls they make, drawn from one seeded `random.Random`."""

    def __init__(
        self, rng: random.Random, *, drop_ratio: float, leads_per_queue: int, machine_share: float = 0.0,
        outcomes: random.Random | None = None, daybook: DayBook | None = None,
    ) -> None:
        self.rng = rng
        self._bits = rng.getrandbits
        self.ratio = drop_ratio
        self.machine_share = machine_share
        self.outcomes = outcomes or random.Random(0)
        self.book = daybook or DayBook()
        self._leads_per_queue = leads_per_queue
        self._next_call_log = 700_000_000 + rng.randrange(1_000_000)

    # --- the state machine ----------------------------------------------------------

    def step(self, agent: AgentState, at: int) -> None:
        rng = self.rng
        status = agent.status
        if status == READY:
            self._connect(agent, at)
            self.enter(agent, RINGING, at, RINGING_TIME)
        elif status == RINGING:
            agent.calls_today += 1
            agent.total_calls += 1
            self.enter(agent, INCALL, at, MACHINE_CALL_TIME if agent.machine else None)
        elif status == INCALL and not agent.machine and rng.random() < TRANSFER_CHANCE:
            self.enter(agent, TRANSFER, at, TRANSFER_TIME)
        elif status in (INCALL, TRANSFER):
            self.enter(agent, WRAP, at, MACHINE_WRAP_TIME if agent.machine else WRAP_TIME)
        elif status == WRAP:
            self._after_wrap(agent, at)
        elif status == LOGGED_OUT:
            agent.total_calls = 0  # a new session
            self.enter(agent, READY, at, READY_WAIT)
        else:  # PAUSED
            self.enter(agent, READY, at, READY_WAIT)

    def _after_wrap(self, agent: AgentState, at: int) -> None:
        draw = self.rng.random()
        if draw < LOGOUT_CHANCE:
            self.enter(agent, LOGGED_OUT, at, LOGGED_OUT_TIME)
        elif draw < LOGOUT_CHANCE + PAUSE_CHANCE:
            self.enter(agent, PAUSED, at, PAUSE_TIME)
        else:
            self.enter(agent, READY, at, READY_WAIT)

    def enter(self, agent: AgentState, status: str, at: int, bounds: tuple[int, int] | None) -> None:
        """`bounds` None: a call's length. The time in the status left is booked
        (ground truth) where the agent is, and in its day-book row."""
        queue = agent.queue
        queue.seconds[agent.status] += at - agent.accrued_from
        agent.row[SLOTS[agent.machine][agent.status]] += at - agent.row_from
        queue.entries[status] += 1
        agent.accrued_from = agent.row_from = at
        agent.status = status
        agent.since = at
        agent.next_change = at + (self._call_length() if bounds is None else self.draw(*bounds))
        agent.version += 1

    @staticmethod
    def end_stay(agent: AgentState, now: int) -> None:
        """Book the agent's stay in its place and status up to `now`, before a logout
        or a move. A stay of no time at all (begun this very second) is no entry."""
        place = agent.queue
        book(agent, now)
        if agent.accrued_from == now:
            place.entries[agent.status] -= 1
        else:
            place.seconds[agent.status] += now - agent.accrued_from
            agent.accrued_from = now

    def draw(self, low: int, high: int) -> int:
        """`rng.randint(low, high)`, the same number from the same stream, faster."""
        width = high - low + 1
        bits = width.bit_length()
        number = self._bits(bits)
        while number >= width:
            number = self._bits(bits)
        return low + number

    def _call_length(self) -> int:
        return int(self.rng.triangular(CALL_TIME[0], CALL_TIME[1], CALL_MODE))

    def _connect(self, agent: AgentState, at: int) -> None:
        """A call answered by a lead reaches this agent; the queue's counters move."""
        rng = self.rng
        queue = agent.queue
        inbound = agent.inbound_only or rng.random() < INBOUND_SHARE
        dials = 1 if inbound else 1 + self.draw(0, MAX_EXTRA_DIALS)
        queue.calls_today += dials
        queue.answered += 1
        if not inbound:
            self._use_leads(queue, dials)
        book(agent, at)  # the wait so far, under its last call's list
        self._set_call(agent, "inbound" if inbound else "outbound")
        agent.machine = self._machine_answers(queue, inbound)
        self.book.place(agent)[AM if agent.machine else LIVE] += 1
        self._add_drops(queue)

    def _machine_answers(self, queue: QueueState, inbound: bool) -> bool:
        share = self.machine_share
        if not share:
            return False
        debt = queue.machine_debt + self.outcomes.uniform(0.0, 2.0) * share / (1.0 - self.ratio)
        machine = not inbound and debt >= 1.0
        queue.machine_debt = min(MAX_MACHINE_DEBT, debt - machine)
        return machine

    def _add_drops(self, queue: QueueState) -> None:
        ratio = self.ratio
        # Jitter in [0, 2) keeps the mean, so dropped / answered still converges to the ratio.
        queue.drop_debt += self.rng.uniform(0.0, 2.0) * ratio / (1.0 - ratio)
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

    # --- the start ------------------------------------------------------------------

    def make_agent(
        self, index: int, queue: QueueState, skills: Sequence[str], start_wall: float, into_day: float,
        wall_text: Callable[[float], str],
    ) -> AgentState:
        """Agent `index` of `queue`, `into_day` seconds after local midnight, mid-way
        through some status."""
        rng = self.rng
        skill_count = rng.randint(1, min(3, len(skills))) if skills else 0
        # Calls so far today, as if the agent had worked since midnight (a shift at most).
        typical = min(into_day, SHIFT) // TYPICAL_CYCLE
        calls_today = rng.randint(int(typical) // 2, int(typical))
        agent = AgentState(
            index=index,
            user_id=str(100_001 + index),
            user_full_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            queue=queue,
            extension=str(1001 + index),
            connection_type=rng.choice(CONNECTION_TYPES),
            skills=tuple(rng.sample(skills, skill_count)),
            inbound_only=rng.random() < 0.1,
            queue_assignment=wall_text(start_wall - rng.randint(3600, 90 * DAY)),
            calls_today=calls_today,
            total_calls=rng.randint(0, calls_today),
        )
        # Everyone has a last call, so the documented shape never has empty fields.
        self._set_call(agent, "inbound" if agent.inbound_only else "outbound")
        self.book.place(agent)
        status = rng.choices(list(START_WEIGHTS), weights=list(START_WEIGHTS.values()))[0]
        self.enter(agent, status, 0, START_BOUNDS[status])
        elapsed = rng.randint(0, agent.next_change - 1)  # mid-way through that status
        agent.since -= elapsed  # (its time before the start is not booked: accrued_from stays 0)
        agent.next_change -= elapsed
        return agent

    def warm_up(self, queues: Sequence[QueueState], agents: Sequence[AgentState]) -> None:
        """Start mid-day: queue counters agree with the agents' calls so far, which the
        day book splits by outcome at the shares in force (none for inbound-only agents)."""
        ratio = self.ratio
        machine_share = min(1.0, self.machine_share / (1.0 - ratio))  # of the calls agents took
        for agent in agents:
            machine = 0 if agent.inbound_only else round(agent.calls_today * machine_share)
            agent.row[AM] += machine
            agent.row[LIVE] += agent.calls_today - machine
        for queue in queues:
            taken = sum(agent.calls_today for agent in agents if agent.queue is queue)
            queue.dropped = round(taken * ratio / (1.0 - ratio))
            queue.answered = taken + queue.dropped
            queue.calls_today = queue.answered + int(queue.answered * self.rng.uniform(0.8, 1.5))
