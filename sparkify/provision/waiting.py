"""Waiting for AWS: botocore waiters, bounded to --wait-minutes, with one progress line per check.

Redshift ships waiters for clusters (``cluster_available``, ``cluster_deleted``);
Redshift Serverless ships none, so its four are custom waiter models below,
run by the same botocore machinery (``botocore.waiter.create_waiter_with_client``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError, WaiterError
from botocore.waiter import WaiterModel, create_waiter_with_client

from sparkify.aws.faults import AwsError, aws_call, describe_client_error

log = logging.getLogger(__name__)

# How long setup_cluster.py and clean_redshift.py wait (--wait-minutes).
DEFAULT_WAIT_MINUTES = 30.0
# How often the waiters check. Tests make it tiny; AWS takes minutes anyway.
POLL_SECONDS = 30.0
GONE = "gone"


def _serverless_waiters(thing: str, operation: str) -> dict:
    """X available (fails at once on DELETING or not found) and X deleted (done when not found), for X in
    namespace, workgroup: the statuses GetNamespace / GetWorkgroup document (AVAILABLE, MODIFYING, DELETING...)."""
    path = f"{thing}.status"
    title = thing.capitalize()
    return {
        f"{title}Available": {
            "operation": operation,
            "delay": POLL_SECONDS,
            "maxAttempts": 60,
            "acceptors": [
                {"state": "success", "matcher": "path", "argument": path, "expected": "AVAILABLE"},
                {"state": "failure", "matcher": "path", "argument": path, "expected": "DELETING"},
                {"state": "failure", "matcher": "error", "expected": "ResourceNotFoundException"},
            ],
        },
        f"{title}Deleted": {
            "operation": operation,
            "delay": POLL_SECONDS,
            "maxAttempts": 60,
            "acceptors": [{"state": "success", "matcher": "error", "expected": "ResourceNotFoundException"}],
        },
    }


SERVERLESS_WAITERS = WaiterModel(
    {
        "version": 2,
        "waiters": _serverless_waiters("namespace", "GetNamespace") | _serverless_waiters("workgroup", "GetWorkgroup"),
    }
)


@dataclass(frozen=True)
class Wait:
    """What one wait is about, in the words its lines and errors use."""

    what: str  # e.g. "cluster sparkify-dwh", "workgroup sparkify-dwh"
    goal: str  # "become available" or "be deleted"
    timed_out: str  # after "<what> is still <status> after N min - "
    went_wrong: str  # after "<what> became <status> "
    status_of: Callable[[dict], str]  # a response (parsed, or an error) -> the status to show


def attempts(minutes: float, delay: float) -> int:
    return max(1, math.ceil(minutes * 60 / max(delay, 0.001)))


def elapsed(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m {seconds % 60:02d}s"


def run(client, waiter: str, params: dict, wait: Wait, minutes: float, delay: float | None = None) -> dict:
    """Run the named waiter (the client's own, or one of SERVERLESS_WAITERS), at most `minutes`.

    Returns the last response it saw (what the resource looks like now, or the
    not-found error). Raises a one-line AwsError on a time-out, on a status
    that cannot lead to the goal, and on a refused request.
    """
    delay = POLL_SECONDS if delay is None else delay
    log.info("waiting for %s to %s (up to %g min, checking every %g s)", wait.what, wait.goal, minutes, delay)
    started = time.monotonic()
    model = SERVERLESS_WAITERS if waiter in SERVERLESS_WAITERS.waiter_names else None
    botocore_waiter = create_waiter_with_client(waiter, model, client) if model else client.get_waiter(waiter)
    last: dict = {}

    def report(parsed=None, **_) -> None:
        last.clear()
        last.update(parsed or {})
        log.info("  %s: %s (%s elapsed)", wait.what, wait.status_of(last), elapsed(started))

    event = f"after-call.{client.meta.service_model.service_id.hyphenize()}.{botocore_waiter.config.operation}"
    unique = f"sparkify-progress-{wait.what}"
    client.meta.events.register(event, report, unique_id=unique)
    try:
        with aws_call(f"wait for {wait.what}"):
            botocore_waiter.wait(**params, WaiterConfig={"Delay": delay, "MaxAttempts": attempts(minutes, delay)})
    except WaiterError as exc:
        response = exc.last_response or {}
        reason = str(exc.kwargs.get("reason", ""))
        status = wait.status_of(response)
        if "Max attempts exceeded" in reason:
            raise AwsError(f"{wait.what} is still {status} after {minutes:g} min - {wait.timed_out}") from None
        if "terminal failure state" not in reason and "Error" in response:  # refused: access denied, bad keys...
            refused = ClientError(response, botocore_waiter.config.operation)
            raise AwsError(describe_client_error(f"wait for {wait.what}", refused)) from None
        raise AwsError(f"{wait.what} became {status} {wait.went_wrong}") from None
    finally:
        client.meta.events.unregister(event, unique_id=unique)
    log.info("%s is %s after %s", wait.what, "deleted" if wait.goal == "be deleted" else "available", elapsed(started))
    return dict(last)
