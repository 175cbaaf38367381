"""The harness's own brokers: a ``redis-server`` of its own on a port of its own, and a
RabbitMQ virtual host of its own behind a TCP proxy it can cut. The machine's shared
services are never stopped or flushed."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from urllib.parse import quote

from tests.faults.proxy import Proxy
from tests.peers import free_port
from tests.worker.procs import wait_until

RABBITMQ = ("127.0.0.1", 5672)


class OwnRedis:
    """``redis-server --port N --save "" --appendonly no`` on loopback: stopping it loses
    everything it held, as a broker restarted without persistence does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10)

    restore = start

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    close = stop

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False


class OwnRabbit:
    """A virtual host of this run on the machine's RabbitMQ, reached through a proxy."""

    def __init__(self) -> None:
        self.vhost = f"faults-{uuid.uuid4().hex[:8]}"
        self.proxy = Proxy(RABBITMQ)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.proxy.port}/{quote(self.vhost, safe='')}"

    def start(self) -> None:
        _rabbitmqctl("add_vhost", self.vhost)
        _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.proxy.start()

    def stop(self) -> None:
        self.proxy.cut()

    def restore(self) -> None:
        self.proxy.restore()

    def close(self) -> None:
        self.proxy.close()
        _rabbitmqctl("delete_vhost", self.vhost)


def rabbitmqctl_problem() -> str | None:
    """Why a virtual host cannot be made here, or None."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed: the harness makes a RabbitMQ vhost of its own"
    try:
        _rabbitmqctl("list_vhosts")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return f"rabbitmqctl cannot reach RabbitMQ ({exc}): the harness needs a vhost of its own"
    return None


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)
