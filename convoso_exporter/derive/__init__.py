"""Figures derived from the snapshots: agents by campaign, queue and status; counters; agent time."""
