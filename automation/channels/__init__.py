"""Delivery: rendering templates, signing tracking links, and the e-mail and SMS
transports (SMTP or the ``.eml`` sink; an HTTP gateway or the JSON file outbox)."""
