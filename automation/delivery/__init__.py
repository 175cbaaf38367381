"""Delivery: the ledger that moves each message row from queued to sent (or to a
reason why not), the contact policy consulted right before each send, and the
channels' adapters called to deliver. Nothing here decides *what* to send."""
