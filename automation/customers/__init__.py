"""Customers: what each event changes about a customer (profile, preferences,
prospect score, attribution)."""
