"""pricing: genai-prices as the source of truth, user overrides, unknown -> None."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from genai_prices import Usage, calc_price

from crewscope.exporter.pricing import PriceBook


@pytest.mark.parametrize(
    ("model", "provider", "usage"),
    [
        ("gpt-4o-mini", "openai", (1000, 200, 0, 0)),
        ("gpt-4o-mini", "openai", (1234, 77, 400, 0)),
        ("claude-sonnet-4-5", "anthropic", (5000, 10, 0, 300)),
        ("claude-sonnet-4-5", "anthropic", (300_000, 100, 1000, 500)),  # above the 200k tier
        ("gemini-2.5-pro", "gcp.gemini", (1000, 500, 0, 0)),  # OTel provider name
    ],
)
def test_cost_matches_genai_prices(model, provider, usage):
    i, o, cr, cw = usage
    expected = calc_price(
        Usage(input_tokens=i, output_tokens=o, cache_read_tokens=cr, cache_write_tokens=cw), model
    ).total_price
    got = PriceBook().cost_usd(model, provider, i, o, cr, cw)
    assert got == pytest.approx(float(expected), rel=1e-9)
    assert got > 0


def test_unknown_model_is_none_and_lookups_are_cached():
    book = PriceBook()
    assert book.cost_usd("no-such-model-xyz", "openai", 100, 100) is None
    assert book.rate("gpt-4o-mini", "openai") is book.rate("gpt-4o-mini", "openai")
    assert book.cost_usd("openai/gpt-4o-mini", "litellm", 1_000_000, 0) == pytest.approx(0.15)


def test_user_price_file_overrides(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "gpt-4o-mini": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
                "house-model": {
                    "input_per_mtok": 3.0,
                    "output_per_mtok": 4.0,
                    "cache_read_per_mtok": 0.5,
                },
            }
        )
    )
    book = PriceBook(str(prices))
    assert book.cost_usd("gpt-4o-mini", "openai", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert book.cost_usd("house-model", None, 2_000_000, 0, 1_000_000) == pytest.approx(3.5)
    assert book.cost_usd("gpt-4.1", "openai", 1_000_000, 0) == pytest.approx(2.0)  # library


def test_bad_price_file_warns_and_falls_back(tmp_path, caplog):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="crewscope.exporter.pricing"):
        book = PriceBook(str(bad))
    assert any("ignoring price file" in r.getMessage() for r in caplog.records)
    assert book.cost_usd("gpt-4o-mini", "openai", 1_000_000, 0) == pytest.approx(0.15)


EXPORT_CHAT = """
import sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from crewscope.exporter import DuckDBSpanExporter
exp = DuckDBSpanExporter(sys.argv[1])
tp = TracerProvider()
tp.add_span_processor(SimpleSpanProcessor(exp))
attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "house-model",
         "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 1000}
tp.get_tracer("t").start_span("chat house-model", attributes=attrs).end()
tp.shutdown()
"""


def test_exporter_uses_prices_file_from_env(tmp_path, db_path, query):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"house-model": {"input_per_mtok": 1, "output_per_mtok": 9}}))
    env = {"CREWSCOPE_PRICES_FILE": str(prices), "PATH": ""}
    subprocess.run([sys.executable, "-c", EXPORT_CHAT, db_path], env=env, check=True, timeout=120)
    assert query(db_path, 'SELECT "Model", "CostUsd" FROM otel_traces') == [
        ("house-model", pytest.approx(0.01))
    ]


EXPORT_CALLS = """
import json, sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from crewscope.exporter import DuckDBSpanExporter
tp = TracerProvider()
tp.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(sys.argv[1])))
for name, attrs in json.loads(sys.argv[2]):
    tp.get_tracer("t").start_span(name, attributes=attrs).end()
tp.shutdown()
"""


def _call(op: str, model: str, provider: str = "", **tokens: int) -> tuple[str, dict[str, object]]:
    attrs: dict[str, object] = {"gen_ai.operation.name": op, "gen_ai.request.model": model}
    if provider:
        attrs["gen_ai.provider.name"] = provider
    attrs.update({f"gen_ai.usage.{k}_tokens": v for k, v in tokens.items()})
    return f"{op} {model}", attrs


def test_embeddings_are_priced_on_input_tokens_only(tmp_path, db_path, query):
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "house-model": {"input_per_mtok": 1, "output_per_mtok": 9},
                "house-embedder": {"input_per_mtok": 0.5},  # no output price: embedding model
            }
        )
    )
    calls = [
        _call("chat", "house-model", input=1000, output=1000),
        # some instrumentations report an output count on embeddings (total tokens, vector
        # size): it must not be billed at the model's output price
        _call("embeddings", "house-model", input=1000, output=1000),
        _call("embeddings", "house-embedder", input=4000),
        _call("embeddings", "text-embedding-3-small", "openai", input=1000, output=1536),
        _call("embeddings", "house-model", output=1000),  # no input count: nothing to price
    ]
    env = {"CREWSCOPE_PRICES_FILE": str(prices), "PATH": ""}
    subprocess.run(
        [sys.executable, "-c", EXPORT_CALLS, db_path, json.dumps(calls)],
        env=env, check=True, timeout=120,
    )  # fmt: skip
    rows = query(db_path, 'SELECT "SpanName", "CostUsd" FROM otel_traces ORDER BY "Timestamp"')
    usage = Usage(input_tokens=1000)
    library = float(calc_price(usage, "text-embedding-3-small", provider_id="openai").total_price)
    assert library > 0
    assert rows == [
        ("chat house-model", pytest.approx(1000 * 1e-6 + 1000 * 9e-6)),
        ("embeddings house-model", pytest.approx(1000 * 1e-6)),
        ("embeddings house-embedder", pytest.approx(4000 * 0.5e-6)),
        ("embeddings text-embedding-3-small", pytest.approx(library, rel=1e-9)),
        ("embeddings house-model", None),
    ]
