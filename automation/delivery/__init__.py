"""Delivery: the ledger that moves each message row from queued to sent (or to a
reason why not), the contact policy consulted right before each send, the channels'
declarations read to render and deliver, and the call center's agent tasks. Nothing
here decides *what* to send."""
