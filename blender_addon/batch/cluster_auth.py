"""Ray token authentication for `render --cluster`, as Ray 2.60 does it on a new machine.

- No cluster running: `ray.init` starts a local one with token authentication on and writes a
  new token to ~/.ray/auth_token (Ray's documented way for local development).
- `ray start --head` on a machine with no token starts a cluster without authentication (Ray
  warns); with a token (`ray get-auth-token --generate`), one that asks for it.
- A driver sends a token only in token mode, and a cluster without authentication accepts such a
  driver too: so this machine's token, where it has one, turns token mode on.

Before joining an existing cluster, one gRPC call asks it whether it takes this machine's token
(or none): a cluster that refuses gives a one-line error at once, instead of Ray's 20 s of
retries and a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from .jobs import UsageError

MODE = "RAY_AUTH_MODE"
PROBE_TIMEOUT = 5.0
"""Seconds the authentication probe waits for the cluster's answer."""


def local_token() -> tuple[str, str] | None:
    """This machine's Ray token and where it came from, in Ray's order: $RAY_AUTH_TOKEN,
    the file $RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token; None if there is none."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip(), "RAY_AUTH_TOKEN"
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    path = Path(named) if named else Path.home() / ".ray" / "auth_token"
    try:
        token = path.read_text().strip()
    except OSError:
        return None
    return (token, str(path)) if token else None


def target(address: str) -> tuple[str, bool] | None:
    """The cluster `--cluster address` joins, as (host:port, is a Ray Client address), or None
    when `ray.init` will start a new local cluster."""
    from ray._private.services import canonicalize_bootstrap_address

    if address == "auto" and os.environ.get("RAY_ADDRESS", "").startswith("ray://"):
        address = os.environ["RAY_ADDRESS"]
    if address.startswith("ray://"):
        return address.removeprefix("ray://").rstrip("/"), True
    found = canonicalize_bootstrap_address(None)
    return (found, False) if found else None


def refuses(host_port: str, client: bool, token: str | None) -> bool:
    """Whether the cluster at host_port answers 'unauthenticated' to a call with `token`."""
    import grpc
    from ray.core.generated import (
        gcs_service_pb2,
        gcs_service_pb2_grpc,
        ray_client_pb2,
        ray_client_pb2_grpc,
    )

    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(host_port) as channel:
        try:
            if client:
                ping = ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING)
                ray_client_pb2_grpc.RayletDriverStub(channel).ClusterInfo(
                    ping, timeout=PROBE_TIMEOUT, metadata=metadata
                )
            else:
                gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetClusterId(
                    gcs_service_pb2.GetClusterIdRequest(), timeout=PROBE_TIMEOUT, metadata=metadata
                )
        except grpc.RpcError as e:
            # anything but a refusal (unreachable, slow) is left to ray.init to report
            return e.code() == grpc.StatusCode.UNAUTHENTICATED
    return False


def use_local_token() -> None:
    """Token mode when this machine has a token and $RAY_AUTH_MODE says nothing. Call it before
    importing ray, which reads the mode once."""
    if MODE not in os.environ and local_token():
        os.environ[MODE] = "token"


def check(address: str) -> None:
    """Raise a one-line UsageError when the cluster that `address` joins needs a token this
    machine lacks, or refuses the one it has."""
    token = local_token()
    sends = token if os.environ.get(MODE, "").lower() == "token" else None
    joined = target(address)
    if joined is None or not refuses(*joined, sends[0] if sends else None):
        return
    where = f"--cluster {address}: the Ray cluster at {joined[0]}"
    fix = "(`ray get-auth-token` on its head node prints it)"
    if sends:
        raise UsageError(
            f"{where} refuses the token from {sends[1]}: set RAY_AUTH_TOKEN or "
            f"~/.ray/auth_token to the cluster's token {fix}"
        )
    if token:
        raise UsageError(f"{where} needs a token, and {MODE}={os.environ[MODE]} sends none")
    raise UsageError(
        f"{where} needs a token and this machine has none: set RAY_AUTH_TOKEN or write it to "
        f"~/.ray/auth_token {fix}"
    )
