"""Per-span cost of crewscope's wrapper mechanics vs a bare OpenTelemetry SDK span.

    .venv/bin/python bench/bench_span_micro.py [--spans 20000] [--rounds 15]

Both sides use the same TracerProvider and processor (BatchSpanProcessor into a no-op
exporter, so only span creation and processing is timed) and wrap the same no-op function:

* bare: ``with tracer.start_as_current_span("execute_tool word_counter", attributes=...)``
  with the attributes crewscope's tool span carries;
* crewscope: the real tool hook (``_tool_wrappers.direct_tool_run``, as used for
  ``BaseTool.run``) through the real ``_spans.traced`` wrapt wrapper: run-info attributes,
  the TOOL context variable, totals, step-registry bookkeeping, context attach/detach;
* crewscope memory: the memory-operation hook (``memory save``), the simplest real hook.

Interleaved rounds, CPU time per span (process-wide), medians; target crewscope/bare <= 2.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Any

import wrapt
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._config import CaptureConfig
from crewscope.instrumentation._spans import Telemetry, traced
from crewscope.instrumentation._state import RUN_INFO, RunInfo
from crewscope.instrumentation._tool_wrappers import direct_tool_run, memory_operation

TARGET = 2.0


class NullExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class FakeTool:
    name = "word_counter"

    def run(self, text: str) -> str:
        return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=20_000, help="spans per variant per round")
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args(argv)
    token = RUN_INFO.set(RunInfo(crew="research_crew", task="research", agent="Researcher"))
    try:
        return _measure(args)
    finally:
        RUN_INFO.reset(token)  # the smoke test runs this in the test process


def _measure(args: argparse.Namespace) -> dict[str, Any]:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NullExporter()))
    tracer = provider.get_tracer("bench")
    tel = Telemetry(tracer, CaptureConfig.from_env())
    run_attrs = RUN_INFO.get().attributes()
    tool = FakeTool()
    ours = wrapt.FunctionWrapper(FakeTool.run, traced(direct_tool_run(tel)))
    memory = wrapt.FunctionWrapper(FakeTool.run, traced(memory_operation(tel, "save")))
    bare_attrs = {**run_attrs, A.OPERATION: A.OP_TOOL, A.TOOL_NAME: "word_counter",
                  A.TOOL_TYPE: "function"}  # fmt: skip

    def bare_loop(n: int) -> None:
        for _ in range(n):
            with tracer.start_as_current_span("execute_tool word_counter", attributes=bare_attrs):
                tool.run("x")

    def ours_loop(n: int) -> None:
        for _ in range(n):
            ours(tool, "x")

    def memory_loop(n: int) -> None:
        for _ in range(n):
            memory(tool, "x")

    def no_span_loop(n: int) -> None:
        for _ in range(n):
            tool.run("x")

    loops = {"bare SDK span": bare_loop, "crewscope tool span": ours_loop,
             "crewscope memory span": memory_loop, "(no span: the call itself)": no_span_loop}  # fmt: skip
    for fn in loops.values():
        fn(1000)  # warm-up
    provider.force_flush()
    per: dict[str, list[float]] = {k: [] for k in loops}
    names = list(loops)
    for rnd in range(args.rounds):
        for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
            c0 = time.process_time()
            loops[name](args.spans)
            provider.force_flush()
            per[name].append((time.process_time() - c0) / args.spans * 1e6)
    provider.shutdown()
    base = per["bare SDK span"]
    print(f"{args.rounds} interleaved rounds x {args.spans} spans; CPU µs per span, medians")
    out: dict[str, Any] = {}
    for name in names:
        us = statistics.median(per[name])
        ratio = statistics.median(a / b for a, b in zip(per[name], base, strict=False))
        out[name] = {"us": us, "ratio": ratio}
        print(f"{name:28s} {us:7.2f} µs   x{ratio:.2f} of bare")
    r = out["crewscope tool span"]["ratio"]
    print(
        f"crewscope tool span / bare SDK span = {r:.2f} "
        f"(target <= {TARGET}: {'met' if r <= TARGET else 'MISSED'})"
    )
    return out


if __name__ == "__main__":
    main()
