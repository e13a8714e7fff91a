"""The real ``crewscope serve`` command in a subprocess, killed and restarted by the tests.

`start_serve` runs ``crewscope serve --db FILE --port P`` (OTLP/gRPC on a second free port
when asked) as users run it, and returns once its health endpoint answers. Importing the
server costs 2-5 s of CPU on this machine, too much for tests that restart it 20 times, so
`Zygote` offers the same command forked from a process that has imported it already: the
child runs crewscope's CLI (``crewscope.query_api.cli.main(["serve", ...])``, what the
``crewscope`` executable runs) in a process of its own, with its own log and environment. `ServeProcess.sigkill`
kills it with SIGKILL and reaps it; `ServeProcess.end_orphans` then ends the processes it had started
(decode workers, multiprocessing's resource tracker) by their pids, reporting which of them
were still alive after a grace period.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.helpers.env import subprocess_env

API = "/api/v1/monitoring"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Zygote:
    """A process that has imported the server and forks ``crewscope serve`` children.

    One child at a time: after a fork it waits for the child and reports its exit status.
    """

    SOURCE = textwrap.dedent(
        """
        import json, os, sys
        import crewscope.query_api.app, crewscope.query_api.cli, uvicorn, grpc  # noqa: F401
        from crewscope.exporter.receiver import otlp_grpc  # noqa: F401
        import opentelemetry.instrumentation.fastapi  # noqa: F401
        from crewscope.query_api.cli import main
        print(json.dumps({"ready": os.getpid()}), flush=True)
        for line in sys.stdin:
            order = json.loads(line)
            pid = os.fork()
            if pid == 0:
                try:
                    os.setpgid(0, 0)
                    fd = os.open(order["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    null = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(null, 0)
                    os.environ.update(order["env"])
                    sys.argv = ["crewscope", *order["args"]]
                    code = main(order["args"])
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:
                    import traceback
                    traceback.print_exc()
                    code = 1
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code or 0)
            print(json.dumps({"pid": pid}), flush=True)
            _, status = os.waitpid(pid, 0)
            print(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}), flush=True)
        """
    )

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.SOURCE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=subprocess_env(), text=True,
        )  # fmt: skip
        self._read("ready")

    def _read(self, key: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the zygote exited ({self.proc.wait(5)})")
        message: dict[str, Any] = json.loads(line)
        assert key in message, message
        return message

    def fork(self, args: list[str], log_path: Path, env: dict[str, str]) -> ForkedProcess:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"args": args, "log": str(log_path), "env": env}) + "\n")
        self.proc.stdin.flush()
        return ForkedProcess(self, int(self._read("pid")["pid"]))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class ForkedProcess:
    """A zygote's child, driven like a `subprocess.Popen`."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def poll(self) -> int | None:
        if self.returncode is None and not psutil.pid_exists(self.pid):
            self.wait(5)
        elif self.returncode is None:
            try:
                if psutil.Process(self.pid).status() == psutil.STATUS_ZOMBIE:
                    self.wait(5)
            except psutil.NoSuchProcess:
                self.wait(5)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                psutil.Process(self.pid).wait(timeout)  # until the zygote reaps it
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired as exc:
                raise subprocess.TimeoutExpired(["crewscope", "serve"], timeout or 0) from exc
            try:
                self.returncode = int(self.zygote._read("exit")["code"])
            except AssertionError:  # the zygote is gone: its child was reaped by init
                self.returncode = -signal.SIGKILL
        return self.returncode


@dataclass
class ServeProcess:
    proc: subprocess.Popen[bytes] | ForkedProcess
    port: int
    grpc_port: int | None
    db_path: Path
    log_path: Path
    orphans: list[int] = field(default_factory=list)
    """Children found alive after a SIGKILL (then ended by the test)."""
    killed_children: list[psutil.Process] = field(default_factory=list)
    killed_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, path: str, method: str = "GET", timeout: float = 10.0
    ) -> Any:  # the decoded JSON body
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def api(self, path: str, method: str = "GET", timeout: float = 10.0) -> Any:
        return self.request(f"{API}{path}", method, timeout)

    def health(self) -> dict[str, dict[str, Any]]:
        document = self.api("/system/health", timeout=5)
        return {s["name"]: s for s in document["service_statuses"]}

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_up(self, timeout_s: float = 60.0) -> None:
        """Return once the health endpoint answers; raise if the server exits or times out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"crewscope serve exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                self.health()
                return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                self.sigkill()
                self.end_orphans(0.0)
                raise AssertionError(
                    f"crewscope serve not up after {timeout_s:.0f}s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def sigkill(self) -> None:
        """SIGKILL the server and reap it; its children are left to `end_orphans`."""
        self.killed_children = self.children()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.killed_at = time.monotonic()

    def end_orphans(self, grace_s: float) -> list[int]:
        """Wait until `grace_s` after the kill for the server's children to exit, end the
        ones still alive (by pid) and return their pids."""
        alive = [c for c in self.killed_children if _alive(c)]
        while alive and time.monotonic() < self.killed_at + grace_s:
            time.sleep(0.05)
            alive = [c for c in alive if _alive(c)]
        for child in alive:
            try:
                child.kill()  # a child of the server this test started, by its pid
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        self.killed_children = []
        self.orphans = [c.pid for c in alive]
        return self.orphans

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait (SIGKILL after `timeout`); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.sigkill()
                self.end_orphans(0.0)
        return int(self.proc.returncode or 0)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_serve(
    db_path: Path,
    log_path: Path,
    *,
    grpc: bool = False,
    rollup_interval_s: float = 60.0,
    timeout_s: float = 60.0,
    zygote: Zygote | None = None,
    wait: bool = True,
    **env: str,
) -> ServeProcess:
    """``crewscope serve`` on free loopback ports over `db_path`, up (health answers) unless
    `wait` is False (then call `ServeProcess.wait_up`)."""
    port = free_port()
    grpc_port = free_port() if grpc else None
    args = [
        "serve", "--db", str(db_path), "--port", str(port),
        "--grpc", f"127.0.0.1:{grpc_port}" if grpc_port else "",
        "--log-level", "warning", "--retention-days", "0",
        "--rollup-interval", str(rollup_interval_s),
    ]  # fmt: skip
    proc: subprocess.Popen[bytes] | ForkedProcess
    if zygote is not None:
        proc = zygote.fork(args, log_path, env)
    else:
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("crewscope")), *args], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=subprocess_env(**env),
            )  # fmt: skip
    served = ServeProcess(proc, port, grpc_port, db_path, log_path)
    if wait:
        served.wait_up(timeout_s)
    return served
