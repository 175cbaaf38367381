"""Real services for the tests: skip locally when one is down, fail under CI."""

from __future__ import annotations

import os
import socket

import pytest

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_PORTS = {"postgresql": 5432, "redis": 6379, "rabbitmq": 5672}


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(service: str) -> None:
    """Skip (locally) or fail (CI) when ``service`` is not reachable."""
    port = _PORTS[service]
    if port_open(port):
        return
    message = f"{service} is not reachable on 127.0.0.1:{port}"
    if UNDER_CI:
        pytest.fail(f"{message}, and CI=true: the suite must run against it", pytrace=False)
    pytest.skip(f"{message}; start it to run these tests (CI requires it)")
