"""Other projects' CrewAI instrumentations (OpenInference, OpenLLMetry, OpenLIT), each run on
the demo crew in its own subprocess, exporting OTLP/HTTP to a real `crewscope serve`.

The peers are installed once per machine, with pinned versions, into their own directories
under ``~/.cache/crewscope/peers`` (like bench/setup_peers.sh), never into the venv: they
register ``opentelemetry_instrumentor`` entry points that zero-code tests would load. Their
other dependencies (OpenTelemetry API/SDK/instrumentation, wrapt, openai, ...) are the
venv's. Only the worker subprocess puts a peer's directory on PYTHONPATH.

    python -m tests.helpers.peers PEER OTLP_BASE_URL FAKE_LLM_URL WORKDIR

runs one kickoff of the demo crew (crewscope.demo.crew.build_crew) under PEER, flushes and
prints one JSON line (``{"peer": ..., "raw": <crew output>}``).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.env import NETGUARD_DIR, subprocess_env

REPO = Path(__file__).resolve().parents[2]
HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)
"""The account's home: the tests point $HOME at a fresh directory per session."""
CACHE = Path(os.environ.get("CREWSCOPE_PEERS_CACHE", HOME / ".cache/crewscope/peers"))


@dataclass(frozen=True)
class Peer:
    name: str
    pins: tuple[str, ...]

    @property
    def target(self) -> Path:
        """Where this peer's pinned set is installed (a new set of pins, a new directory)."""
        digest = hashlib.sha256("\n".join(self.pins).encode()).hexdigest()[:10]
        return CACHE / f"{self.name}-{digest}"


PEERS = {
    "openinference": Peer(
        "openinference",
        (
            "openinference-instrumentation-crewai==1.1.21",
            "openinference-instrumentation-openai==0.1.66",
            "openinference-instrumentation==0.1.72",
            "openinference-semantic-conventions==0.1.42",
        ),
    ),
    "openllmetry": Peer(
        "openllmetry",
        (
            "opentelemetry-instrumentation-crewai==0.62.4",
            "opentelemetry-instrumentation-openai==0.62.4",
            "opentelemetry-semantic-conventions-ai==0.5.1",
        ),
    ),
    # openlit's other requirements (boto3, anthropic, a dozen framework instrumentations)
    # are only imported for the libraries it finds installed: the crew needs none of them.
    "openlit": Peer("openlit", ("openlit==1.45.0", "schedule==1.2.2", "xmltodict==1.0.4")),
}


def ensure_installed(peer: Peer) -> Path:
    """Install `peer`'s pins (no dependencies) into its cache directory once; return it."""
    target = peer.target
    done = target / ".installed"
    if not done.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
             *peer.pins],
            check=True, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        done.write_text("\n".join(peer.pins))
    return target


def run_peer(
    peer: Peer, otlp_url: str, llm_url: str, workdir: Path, *, schedule_delay_ms: int | None = None
) -> dict[str, object]:
    """Run the demo crew under `peer` in a subprocess; its JSON answer. `schedule_delay_ms`:
    the peer's export interval (``OTEL_BSP_SCHEDULE_DELAY``); None: the SDK's default (5 s)."""
    target = ensure_installed(peer)
    env = subprocess_env(
        PYTHONPATH=os.pathsep.join([str(NETGUARD_DIR), str(target)]),
        OPENAI_API_KEY="sk-crewscope-local",
        OTEL_SERVICE_NAME=f"peer-{peer.name}",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    env.pop("OTEL_BSP_SCHEDULE_DELAY", None)
    if schedule_delay_ms is not None:
        env["OTEL_BSP_SCHEDULE_DELAY"] = str(schedule_delay_ms)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.helpers.peers", peer.name, otlp_url, llm_url, str(workdir)],
        env=env, cwd=str(REPO), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if proc.returncode != 0:
        raise AssertionError(f"{peer.name} worker failed:\n{proc.stderr[-4000:]}")
    answer: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return answer


def _instrument(name: str, otlp_url: str) -> object:
    """Instrument this process with peer `name`; returns what to flush and shut down."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if name == "openlit":
        import openlit  # type: ignore[import-not-found]
        from opentelemetry import trace

        openlit.init(
            otlp_endpoint=otlp_url,
            application_name=f"peer-{name}",
            service_name=f"peer-{name}",
            disable_metrics=True,
            collect_gpu_stats=False,
        )
        return trace.get_tracer_provider()
    provider = TracerProvider(resource=Resource.create({"service.name": f"peer-{name}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{otlp_url}/v1/traces")))
    if name == "openinference":
        from openinference.instrumentation.crewai import CrewAIInstrumentor
        from openinference.instrumentation.openai import OpenAIInstrumentor
    elif name == "openllmetry":
        from opentelemetry.instrumentation.crewai import (  # type: ignore[no-redef]
            CrewAIInstrumentor,
        )
        from opentelemetry.instrumentation.openai import (  # type: ignore[no-redef]
            OpenAIInstrumentor,
        )
    else:
        raise SystemExit(f"unknown peer {name!r}")
    CrewAIInstrumentor().instrument(tracer_provider=provider)
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    return provider


def main() -> None:
    name, otlp_url, llm_url, workdir = sys.argv[1:5]
    os.environ["HOME"] = workdir  # CrewAI writes under ~/.local/share
    from crewscope.demo.env import apply_offline_env

    apply_offline_env()
    provider = _instrument(name, otlp_url)
    from crewscope.demo.crew import build_crew, make_llm

    out = build_crew(make_llm(llm_url, max_retries=0), name=f"{name}_crew").kickoff(
        inputs={"topic": name}
    )
    provider.force_flush()  # type: ignore[attr-defined]
    provider.shutdown()  # type: ignore[attr-defined]
    print(json.dumps({"peer": name, "raw": out.raw}), flush=True)


if __name__ == "__main__":
    main()
