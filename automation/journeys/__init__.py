"""Journeys: marketing ops' state machines, and the engine that moves customers
through them — the only place that decides what a customer gets next.

- ``spec.py`` (load a file, a text, a stored version): YAML with line numbers
  (``yamlmap.py``) read by ``reader.py`` and ``values.py`` into the frozen types of
  ``definition.py``, checked by ``checks.py``; every problem as ``FILE:LINE: reason``.
- ``compiler.py``: a version → one ``transitions`` machine; ``registry.py``: publish
  (immutable versions), the compiled-machine cache, pause and resume.
- ``engine.py``: the pipeline step; ``moves.py``: moving, entering, finishing, handing
  off; ``actions.py``: what a state does (messages decided, attributes, events);
  ``products.py``: the product a message names, chosen when it is decided;
  ``timing.py``: when timers are due; ``journal.py``: transitions and timers written
  at commit.
- ``bulk.py``: a condition's customers entered in bulk.
"""

from automation.journeys.bulk import enter_matching
from automation.journeys.definition import JourneySpec
from automation.journeys.engine import JourneyStep
from automation.journeys.registry import builtin_files, publish_files, set_status, summary
from automation.journeys.spec import SpecError, load_file

__all__ = [
    "JourneySpec",
    "JourneyStep",
    "SpecError",
    "builtin_files",
    "enter_matching",
    "load_file",
    "publish_files",
    "set_status",
    "summary",
]
