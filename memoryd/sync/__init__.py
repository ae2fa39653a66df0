"""Replication through the hub: clocks, ops, the outbox and the sync loop."""
