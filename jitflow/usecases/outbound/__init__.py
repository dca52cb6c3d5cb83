"""Outbound delivery of the ledger's new events after each sync run (see `deliver`)."""
