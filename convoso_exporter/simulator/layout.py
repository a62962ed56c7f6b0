"""Who is where in the simulated account: campaigns, their queues, and the agents'
names and places, built from the seed and rearranged at run time.

Ids are issued in order and never reused: campaigns 1001, 1002…, queues 2001, 2002…
(across campaigns), agents 100001…. Every campaign has at least one queue: adding a
campaign adds its first queue, a campaign's last queue goes only with the campaign,
and the account's last queue cannot go at all. When a queue goes, today's counts it
holds move to its campaign's `retired` tally (and a removed campaign's to the
account's), so a campaign's and the account's "today" counters never fall mid-day.
"""

from __future__ import annotations

import random

from convoso_exporter.simulator.model import CampaignState, QueueState, Tally, UnknownScope

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

FIRST_CAMPAIGN_ID = 1001
FIRST_QUEUE_ID = 2001
MAX_NAME = 200


class Layout:
    """The account's campaigns and queues (in id order), and today's counts of removed ones."""

    def __init__(self, rng: random.Random, *, campaigns: int, queues: int, leads_per_queue: int) -> None:
        self._rng = rng
        self._leads_per_queue = leads_per_queue
        self._themes = list(CAMPAIGN_THEMES)
        rng.shuffle(self._themes)
        self.campaigns: list[CampaignState] = []
        self.queues: list[QueueState] = []
        self.by_campaign: dict[str, CampaignState] = {}
        self.by_queue: dict[str, QueueState] = {}
        self.retired = Tally()  # today's counts of campaigns removed today
        self.removed_campaign_ids: set[str] = set()
        self.removed_queue_ids: set[str] = set()
        self._campaigns_made = self._queues_made = 0
        for _ in range(campaigns):
            self.new_campaign()
        for index in range(queues):
            self.new_queue(self.campaigns[index % campaigns])

    # --- lookups --------------------------------------------------------------------

    def campaign(self, campaign_id) -> CampaignState:
        campaign = self.by_campaign.get(_id_text(campaign_id))
        if campaign is None:
            raise UnknownScope(f"campaign {campaign_id} not found")
        return campaign

    def queue(self, queue_id) -> QueueState:
        queue = self.by_queue.get(_id_text(queue_id))
        if queue is None:
            raise UnknownScope(f"queue {queue_id} not found")
        return queue

    def listed_campaigns(self) -> list[dict]:
        return [
            {"campaign_id": c.campaign_id, "campaign_name": c.campaign_name, "queue_ids": [q.queue_id for q in c.queues]}
            for c in self.campaigns
        ]

    def listed_queues(self) -> list[dict]:
        return [
            {"queue_id": q.queue_id, "queue_name": q.queue_name, "campaign_id": q.campaign.campaign_id}
            for q in self.queues
        ]

    def retired_tallies(self) -> list[Tally]:
        """Today's counts of everything removed today: per campaign, and the account's."""
        return [*(campaign.retired for campaign in self.campaigns), self.retired]

    def tallies(self) -> list[QueueState | Tally]:
        """Everything holding today's counts."""
        return [*self.queues, *self.retired_tallies()]

    # --- growth ---------------------------------------------------------------------

    def new_campaign(self, name: str | None = None) -> CampaignState:
        """A campaign with no queue yet (give it one with `new_queue`)."""
        index = self._campaigns_made
        if name is None:
            theme = self._themes[index % len(self._themes)]
            rounds = index // len(self._themes)
            name = theme if rounds == 0 else f"{theme} {rounds + 1}"
        campaign = CampaignState(str(FIRST_CAMPAIGN_ID + index), check_name(name), [])
        self._campaigns_made += 1
        self.campaigns.append(campaign)
        self.by_campaign[campaign.campaign_id] = campaign
        return campaign

    def new_queue(self, campaign: CampaignState, name: str | None = None) -> QueueState:
        index = self._queues_made
        if name is None:
            kind = QUEUE_KINDS[campaign.queues_made % len(QUEUE_KINDS)]
            rounds = campaign.queues_made // len(QUEUE_KINDS)
            suffix = f" {kind}" + (f" {rounds + 1}" if rounds else "")
            # The campaign's name cut to leave room: a 200-character campaign name made a
            # queue name over the bound, refused after the campaign was made (no queue).
            name = campaign.campaign_name[: MAX_NAME - len(suffix)] + suffix
        queue = QueueState(
            queue_id=str(FIRST_QUEUE_ID + index),
            queue_name=check_name(name),
            campaign=campaign,
            list_id=50_000 + 100 * index,
            dialable_leads=int(self._leads_per_queue * self._rng.uniform(0.5, 1.0)) or 1,
            next_lead=1_000_000 * (index + 1),
        )
        self._queues_made += 1
        campaign.queues_made += 1
        campaign.queues.append(queue)
        self.queues.append(queue)
        self.by_queue[queue.queue_id] = queue
        return queue

    # --- removal --------------------------------------------------------------------

    def remove_queue(self, queue: QueueState) -> None:
        """Refused (ValueError) for the account's or its campaign's last queue."""
        campaign = queue.campaign
        if len(self.queues) == 1:
            raise ValueError(f"queue {queue.queue_id} is the account's last queue: it cannot be removed")
        if len(campaign.queues) == 1:
            raise ValueError(
                f"queue {queue.queue_id} is campaign {campaign.campaign_id}'s last queue: remove the campaign instead"
            )
        campaign.retired.add(queue)
        self._drop_queue(queue)

    def remove_campaign(self, campaign: CampaignState) -> None:
        """Refused (ValueError) when its queues are all the account has."""
        if len(campaign.queues) == len(self.queues):
            raise ValueError(f"campaign {campaign.campaign_id} holds the account's last queue: it cannot be removed")
        for queue in list(campaign.queues):
            campaign.retired.add(queue)
            self._drop_queue(queue)
        self.retired.add(campaign.retired)
        self.campaigns.remove(campaign)
        del self.by_campaign[campaign.campaign_id]
        self.removed_campaign_ids.add(campaign.campaign_id)

    def _drop_queue(self, queue: QueueState) -> None:
        queue.campaign.queues.remove(queue)
        self.queues.remove(queue)
        del self.by_queue[queue.queue_id]
        self.removed_queue_ids.add(queue.queue_id)


def check_name(name) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError(f"name must be a non-blank string of at most {MAX_NAME} characters, got {name!r:.60}")
    return name


def _id_text(value) -> str:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else repr(value)
