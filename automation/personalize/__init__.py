"""Real-time personalization (seed 000 §3.3): a visitor's greeting and offers on the
site, chosen as they arrive, each with its reason and a signed token so the site's
``offer_viewed`` / ``offer_clicked`` events close the loop.

- ``rules.py``: the offer rules marketing ops write in YAML (``FILE:LINE`` errors);
  ``store.py``: their versions, and the version in force.
- ``people.py``: who is asking (a customer, or what the web log knows of a visitor).
- ``shelf.py``: the catalogue and what is popular, in memory.
- ``items.py``: the candidate items and their reasons; ``engine.py``: ranking, the
  holdout, the answer; ``tokens.py``: the items' signed tokens.
- ``credit.py``: a sign-up or purchase credited to the offer last clicked before it;
  ``figures.py``: per rule, shown, clicked, converted, uplift over holdout.
"""
