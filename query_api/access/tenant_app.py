"""`tenant_gate`: what ``crewscope serve`` runs with an auth file: one app per tenant, over
that tenant's own store (`tenant_stores`), behind one `TenantGate`, with one OTLP/gRPC
server that routes each call by its token."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from fastapi import FastAPI

from crewscope.exporter.receiver.decode_pool import DecodePool, default_workers
from crewscope.exporter.receiver.otlp_grpc import Target, authorization, start_grpc_receiver
from crewscope.exporter.receiver.otlp_receiver import CREWSCOPE_INGEST_TOKEN, OtlpReceiver
from crewscope.query_api.access.auth_file import AuthFile, AuthFileError, Scope
from crewscope.query_api.access.gate import TenantGate
from crewscope.query_api.access.openapi import secure_openapi
from crewscope.query_api.access.tenant_stores import tenant_stores

logger = logging.getLogger(__name__)


def grpc_resolver(auth: AuthFile, apps: dict[str, FastAPI]) -> Callable[..., Target]:
    """Where a gRPC export call goes: its token's tenant's receiver, or an abort."""

    def resolve(context: grpc.ServicerContext, signal: str) -> Target:
        kind, _, token = (authorization(context) or "").partition(" ")
        grant = auth.grant(token.strip() if kind.lower() == "bearer" else None)
        if grant is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or unknown bearer token")
        assert grant is not None  # abort raises
        if not grant.allows(Scope.INGEST):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "this token has no 'ingest' scope")
        receiver: OtlpReceiver = apps[grant.tenant].state.receiver
        return receiver.queue, receiver.span_writer if signal == "traces" else receiver.log_writer

    return resolve


def tenant_gate(
    store: str,
    auth: AuthFile,
    *,
    grpc_address: str | None = None,
    **app_options: Any,
) -> TenantGate:
    """The gate over one app per tenant of `auth` (options: those of `create_app`)."""
    from crewscope.query_api.app import create_app

    if os.environ.get(CREWSCOPE_INGEST_TOKEN):
        raise AuthFileError(
            f"{CREWSCOPE_INGEST_TOKEN} and an auth file are both set: with an auth file, "
            "ingest tokens are the ones it gives the 'ingest' scope; unset one of them"
        )
    stores = tenant_stores(store, auth.tenants)
    workers = default_workers()
    pool = DecodePool(workers) if workers > 0 else None
    apps: dict[str, FastAPI] = {}
    try:
        for tenant, where in stores.items():
            apps[tenant] = secure_openapi(
                create_app(where, tenant=tenant, decode_pool=pool, **app_options)
            )
    except BaseException:
        for app in apps.values():
            app.state.db.close()
        if pool is not None:
            pool.close()
        raise

    @contextlib.contextmanager
    def grpc_server() -> Iterator[None]:
        server = None
        if grpc_address:
            first = next(iter(apps.values())).state.receiver
            try:
                server, _ = start_grpc_receiver(
                    first.queue, first.span_writer, grpc_address,
                    max_message_bytes=first.config.max_body_bytes,
                    log_writer=first.log_writer, resolve=grpc_resolver(auth, apps),
                )  # fmt: skip
            except (OSError, RuntimeError) as exc:
                logger.error("OTLP/gRPC receiver not started on %s: %s", grpc_address, exc)
        try:
            yield
        finally:
            if server is not None:
                server.stop(grace=2).wait(5)

    @contextlib.contextmanager
    def decoders() -> Iterator[None]:
        try:
            yield
        finally:
            if pool is not None:
                pool.close()

    docs = next(iter(apps.values()))
    return TenantGate(auth, apps, docs, resources=[decoders, grpc_server])
