"""``daguerre serve``: the local web page (Gradio) for restoring and ageing photos.

Binds 127.0.0.1 by default and never creates a public share link. gradio and torch are
imported inside the command, so ``daguerre --version`` stays instant.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
from typing import Annotated, Any

import typer

logger = logging.getLogger(__name__)

HostOpt = Annotated[
    str,
    typer.Option(
        "--host", help="Address to listen on. Only 127.0.0.1/localhost keeps it on this computer."
    ),
]
PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")]
ModelOpt = Annotated[
    str,
    typer.Option("--model", help="Restoration model: a shipped model name or a model folder."),
]
MaxUploadOpt = Annotated[
    float, typer.Option("--max-upload-mb", min=0.001, help="Largest accepted upload, in MB.")
]
MaxPixelsOpt = Annotated[
    int,
    typer.Option(
        "--max-pixels", min=1, help="Largest accepted image, in pixels (decompression-bomb guard)."
    ),
]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 7860,
    model: ModelOpt = "restore",
    max_upload_mb: MaxUploadOpt = 50.0,
    max_pixels: MaxPixelsOpt = 25_000_000,
    scratch_model: Annotated[
        str, typer.Option("--scratch-model", help="Defect detector for scratch removal.")
    ] = "scratch",
) -> None:
    r"""Start the local web page: upload photos, restore or age them, download the results.

    Open the printed address in a browser; stop with Ctrl-C. Needs gradio:
    pip install "daguerre\[web]".
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # never phone home
    try:
        import gradio  # noqa: F401
    except ImportError:
        typer.echo('error: the web page needs gradio: pip install "daguerre[web]"', err=True)
        raise typer.Exit(2) from None
    from daguerre.web.app import build_app
    from daguerre.web.examples import make_examples
    from daguerre.web.jobs import WebSettings, WorkDirs
    from daguerre.web.restore_jobs import model_problem

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own startup checks
    if not _is_loopback(host):
        logger.warning("listening on %s: other computers on the network can use this page", host)
    settings = WebSettings(
        model=model, max_upload_mb=max_upload_mb, max_pixels=max_pixels, scratch_model=scratch_model
    )
    problem = model_problem(model)
    if problem is not None:
        logger.warning("%s; the Restore tab is disabled (Age still works)", problem)
    workdirs = WorkDirs()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so `finally` removes the temp files
    try:
        examples = make_examples(workdirs.root / "examples")
        demo = build_app(settings, workdirs, examples=examples)
        _launch(demo, host, port, settings.max_upload_bytes)
    finally:
        workdirs.close()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _launch(demo: Any, host: str, port: int, max_upload_bytes: int) -> None:
    """Queue jobs one at a time, start the server and block until Ctrl-C / SIGTERM."""
    demo.queue(default_concurrency_limit=1, max_size=64)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            share=False,  # never a public link
            inbrowser=False,
            show_error=False,  # handlers report user errors themselves; no tracebacks
            max_file_size=max_upload_bytes,
            ssr_mode=False,  # no Node server
            mcp_server=False,
            run_history=False,
            footer_links=["api", "settings"],
            quiet=True,
            prevent_thread_lock=True,
        )
    except OSError as err:  # port taken, address not available
        typer.echo(f"error: cannot listen on {host}:{port}: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"daguerre: open http://{host}:{port}/ in a browser (Ctrl-C to stop)")
    try:
        demo.block_thread()
    finally:
        demo.close()


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""
    app.command("serve")(serve)


__all__ = ["register", "serve"]
