"""Retrying Qdrant calls that failed for a passing reason (a peer restarting, a replica
catching up, a load balancer shedding load).

Transient: the connection failed or timed out (qdrant-client wraps it in
``ResponseHandlingException``), or the server answered 429/502/503/504. Anything else
(a bad request, a missing collection, a 500) is raised at once. Every write the index
makes is idempotent (deterministic point ids, deletes by filter), so a retried write
never duplicates. Backoff is exponential with jitter (``tenacity``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
log = logging.getLogger("chronorag.qdrant")


def transient(exc: BaseException) -> bool:
    if isinstance(exc, UnexpectedResponse):
        return exc.status_code in TRANSIENT_STATUS
    return isinstance(exc, (ResponseHandlingException, httpx.TransportError))


def retrying(attempts: int, max_wait_s: float = 8.0) -> Callable[[Callable[[], T]], T]:
    """``call(fn)`` runs ``fn`` up to ``attempts`` times while it fails transiently."""
    policy = Retrying(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait_random_exponential(multiplier=0.2, max=max_wait_s),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    return lambda fn: policy(fn)
