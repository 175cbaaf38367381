"""CSV/JSONL import of customers, policies, products, consents and events."""
