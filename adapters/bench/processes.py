"""Processes of a benchmark: the fake model, the servers under test, the Kafka broker; CPU pinning.

Pinning (when `taskset` exists and the machine has two or more CPUs): the server under test runs on
core 0 (`taskset -c 0`), the fake model on core 1, and the calling process (the load generator) pins
itself to core 1 too. A broker started here also runs on core 0 by default: it is part of the system under
test, and must not take time from the client core (`--broker-core client` puts it on core 1 instead, to
see the server's share alone, as with a broker on a machine of its own). Every server gets a free loopback
port and fresh files under the run's work directory; its stderr goes to a log file there, whose tail is
reported on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from engine import ConfigurationError

__all__ = [
    "REPO_ROOT",
    "Pinning",
    "Server",
    "free_port",
    "pinning",
    "start_agno",
    "start_agnostream",
    "start_fake_model",
    "start_kafka",
    "stop_kafka",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The source checkout (scripts/ lives there); the benchmark needs one, it is not packaged."""
_SERVER_CORE = "0"
_CLIENT_CORE = "1"


@dataclass(frozen=True, slots=True)
class Pinning:
    """Command prefixes that pin a child to the server or the client core (empty when not pinning)."""

    server: tuple[str, ...] = ()
    client: tuple[str, ...] = ()
    note: str = "not pinned"

    @property
    def enabled(self) -> bool:
        """True when children are pinned."""
        return bool(self.server)


def pinning(enabled: bool) -> Pinning:
    """Pin this process to the client core and return the child prefixes; no pinning when unavailable."""
    cpus = os.cpu_count() or 1
    if not enabled:
        return Pinning(note="pinning disabled (--no-pin)")
    if shutil.which("taskset") is None or cpus < 2 or not hasattr(os, "sched_setaffinity"):
        return Pinning(note=f"not pinned: needs taskset and >= 2 CPUs (found {cpus})")
    os.sched_setaffinity(0, {int(_CLIENT_CORE)})
    return Pinning(
        server=("taskset", "-c", _SERVER_CORE),
        client=("taskset", "-c", _CLIENT_CORE),
        note=f"server on core {_SERVER_CORE}; load generator and fake model on core {_CLIENT_CORE}",
    )


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (free when asked; the child binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(slots=True)
class Server:
    """A child process: its `pid`, URL (when it serves HTTP) and stderr log."""

    name: str
    process: asyncio.subprocess.Process
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        """The child's pid (the server itself: `taskset` execs it)."""
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        """The last `lines` lines of the child's stderr."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after `timeout_s` seconds."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()

    async def wait_healthy(self, timeout_s: float = 90.0) -> None:
        """Wait for `GET /health` to answer 200.

        Raises:
            ConfigurationError: the child exited or did not become healthy in time (with its log tail).
        """
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(f"{self.base_url}/health") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise ConfigurationError(f"{self.name} did not become healthy at {self.base_url}:\n{self.log_tail()}")


async def _spawn(
    name: str, argv: list[str], workdir: Path, env: dict[str, str], *, stdout: int | None = None
) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL if stdout is None else stdout,
            stderr=log,
            env=env,
        )
    return Server(name, process, "", log_path)


async def start_fake_model(
    pin: Pinning, workdir: Path, *, tokens: int, ttft_ms: float, token_ms: float
) -> tuple[Server, str]:
    """Start the fake model (client core); return it and its API root `http://127.0.0.1:PORT/v1`.

    Raises:
        ConfigurationError: it did not report its port.
    """
    argv = [*pin.client, sys.executable, "-m", "adapters.bench.fake_model", "--port", "0"]
    argv += ["--tokens", str(tokens), "--ttft-ms", str(ttft_ms), "--token-ms", str(token_ms)]
    server = await _spawn("fake-model", argv, workdir, dict(os.environ), stdout=asyncio.subprocess.PIPE)
    assert server.process.stdout is not None
    try:
        line = await asyncio.wait_for(server.process.stdout.readline(), 30)
    except TimeoutError:
        line = b""
    if not line.startswith(b"FAKE_MODEL_PORT="):
        await server.stop()
        raise ConfigurationError(f"the fake model did not start:\n{server.log_tail()}")
    server.base_url = f"http://127.0.0.1:{int(line.split(b'=')[1])}"
    return server, f"{server.base_url}/v1"


async def start_agnostream(
    pin: Pinning,
    workdir: Path,
    *,
    name: str,
    model_url: str,
    broker: str = "embedded",
    topic_prefix: str = "agno.",
    partitions: int | None = None,
) -> Server:
    """Start `agnostream serve` with the bench agents on the server core (all roles in the process).

    `partitions` sets AGNOSTREAM_PARTITIONS for the topics it creates (None: the settings' default).

    Raises:
        ConfigurationError: it did not become healthy.
    """
    port = free_port()
    argv = [*pin.server, sys.executable, "-m", "adapters.cli", "serve", "--agents", "adapters.bench.agent"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--broker", broker, "--roles", "all"]
    argv += ["--log", str(workdir / f"{name}-log.db"), "--db", str(workdir / f"{name}-views.db")]
    env = {
        **os.environ,
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": "bench-dummy-key",
        "AGNOSTREAM_LOG_LEVEL": "WARNING",
        "AGNOSTREAM_TOPIC_PREFIX": topic_prefix,
    }
    if partitions is not None:
        env["AGNOSTREAM_PARTITIONS"] = str(partitions)
    env.pop("OS_SECURITY_KEY", None)
    server = await _spawn(name, argv, workdir, env)
    server.base_url = f"http://127.0.0.1:{port}"
    await _healthy_or_stop(server)
    return server


async def start_agno(pin: Pinning, workdir: Path, *, python: Path, model_url: str, spec_json: str) -> Server:
    """Start agno's AgentOS (`scripts/bench_agno_server.py` under `python`) on the server core.

    Raises:
        ConfigurationError: it did not become healthy.
    """
    port = free_port()
    script = REPO_ROOT / "scripts" / "bench_agno_server.py"
    argv = [*pin.server, str(python), str(script), "--port", str(port), "--model-url", model_url]
    argv += ["--db", str(workdir / f"agno-{port}.db"), "--spec", spec_json]
    env = {k: v for k, v in os.environ.items() if k not in ("OS_SECURITY_KEY", "VIRTUAL_ENV", "PYTHONPATH")}
    server = await _spawn(f"agno-{port}", argv, workdir, env)
    server.base_url = f"http://127.0.0.1:{port}"
    await _healthy_or_stop(server)
    return server


async def _healthy_or_stop(server: Server) -> None:
    try:
        await server.wait_healthy()
    except BaseException:
        await server.stop()
        raise


def _kafka_env(port: int, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "KAFKA_PORT": str(port), "KAFKA_DATA": str(data_dir)}


async def start_kafka(pin: Pinning, *, port: int, data_dir: Path, core: str = "server") -> tuple[str, int | None]:
    """Start a broker with `scripts/kafka.sh` on the `core` ("server" or "client"); return (bootstrap, pid).

    Raises:
        ConfigurationError: the script is missing or the broker did not start (with its output).
    """
    script = REPO_ROOT / "scripts" / "kafka.sh"
    if not script.exists():
        raise ConfigurationError(f"{script} not found: the Kafka target needs a source checkout")
    process = await asyncio.create_subprocess_exec(
        *(pin.client if core == "client" else pin.server), "bash", str(script), "start",
        env=_kafka_env(port, data_dir), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("KAFKA_BOOTSTRAP_SERVERS=")]
    if process.returncode != 0 or not lines:
        raise ConfigurationError(f"scripts/kafka.sh start failed:\n{err.decode()[-2000:]}")
    pid_text = (data_dir / "kafka.pid").read_text().strip() if (data_dir / "kafka.pid").exists() else ""
    return lines[-1].split("=", 1)[1], int(pid_text) if pid_text.isdigit() else None


async def stop_kafka(*, port: int, data_dir: Path) -> None:
    """Stop the broker `start_kafka` started (the script deletes its data)."""
    script = REPO_ROOT / "scripts" / "kafka.sh"
    process = await asyncio.create_subprocess_exec(
        "bash", str(script), "stop", env=_kafka_env(port, data_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await process.wait()
