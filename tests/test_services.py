"""A missing service skips locally and fails under CI."""

from __future__ import annotations

import pytest

from tests import services


def test_a_missing_service_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "UNDER_CI", False)
    monkeypatch.setitem(services._PORTS, "redis", 1)  # nothing listens on port 1
    with pytest.raises(pytest.skip.Exception, match="not reachable"):
        services.require("redis")


def test_a_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "UNDER_CI", True)
    monkeypatch.setitem(services._PORTS, "redis", 1)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        services.require("redis")
