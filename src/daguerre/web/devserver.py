"""Run ``daguerre serve`` in a subprocess on loopback.

Used by the browser test, the load benchmark and the screenshot script.

Example (not run as a doctest: it starts a server)::

    with tempfile.TemporaryDirectory() as folder:
        model = tiny_model(Path(folder) / "model")
        with ServerProcess(model=model) as server:
            print(server.url, server.peak_memory_mb())
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "ServerProcess", "free_port", "tiny_model"]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (scripts/install_browser.sh)
# Headless and quiet: no GPU, no QUIC, no background traffic (only loopback is reachable).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tiny_model(folder: Path, *, mask_channel: bool = False) -> Path:
    """Save a tiny, untrained restoration U-Net (8 channels, depth 2) to ``folder``.

    It is residual, so its output stays close to its input: enough to exercise the page.
    With ``mask_channel`` it takes a defect mask as a fourth input channel (scratch removal).
    """
    from daguerre.nn.factory import build_generator
    from daguerre.weights.checkpoint import ModelConfig, save_model

    kwargs = {
        "base_channels": 8,
        "depth": 2,
        "max_channels": 16,
        "bottleneck_blocks": 1,
        **({"in_channels": 4} if mask_channel else {}),
    }
    net = build_generator("unet", kwargs)
    config = ModelConfig(
        arch="unet", kwargs=kwargs, pad_multiple=4, extra={"mask_channel": mask_channel}
    )
    return save_model(folder, net, config)


class ServerProcess:
    """``python -m daguerre serve`` on 127.0.0.1 and a free port, stopped on exit.

    Args:
        model: restoration model name or folder (``--model``).
        extra_args: more ``serve`` options, e.g. ``["--max-upload-mb", "1"]``.
        start_timeout_s: how long to wait for the page to answer.
    """

    def __init__(
        self,
        *,
        model: str | Path = "restore",
        extra_args: list[str] | None = None,
        start_timeout_s: float = 90.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._args = ["--model", str(model), *(extra_args or [])]
        self._timeout = start_timeout_s
        self._logdir = tempfile.TemporaryDirectory(prefix="daguerre-serve-log-")
        self.log_path = Path(self._logdir.name) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """Process id of the server."""
        if self._process is None:
            raise RuntimeError("server not started")
        return self._process.pid

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until its page answers."""
        command = [sys.executable, "-m", "daguerre", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), *self._args]
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"daguerre serve exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"daguerre serve did not answer in {self._timeout:g} s:\n{self.log_tail()}"
        )

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self._process is not None and self._process.poll() is None

    def peak_memory_mb(self) -> float:
        """Peak resident memory of the server process (``VmHWM``), in MiB (Linux only)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
        raise RuntimeError("VmHWM not found in /proc status")

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines the server printed."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s); keeps the log readable."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        """Stop the server and remove its log."""
        self.stop()
        self._logdir.cleanup()
