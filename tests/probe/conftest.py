"""Sim fixtures for the probe, plus a tiny conda channel host (the sim has no conda app: a sim
Host with a few-line app serving ``repodata.json`` from a temp dir, through the same core, faults
and rate limits as every sim host)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kuaidi.sim.server import Host, Request, Response, serve_file
from tests.simfixtures import sim_cache, sim_factory  # noqa: F401  (fixtures)

CAPTIVE = b"<!DOCTYPE html><html><body><form>Campus network login</form></body></html>"


def repodata(size: int = 256 * 1024, seed: int = 0) -> bytes:
    """A valid repodata.json of about ``size`` bytes (incompressible package names)."""
    rng = random.Random(seed)
    packages = {}
    while len(json.dumps(packages)) < size:
        name = f"pkg-{rng.getrandbits(64):016x}"
        packages[f"{name}-1.0-0.tar.bz2"] = {"name": name, "version": "1.0", "build": "0"}
    return json.dumps({"info": {"subdir": "noarch"}, "packages": packages}).encode()


@pytest.fixture
def conda_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    """``conda_host(name, last_modified=..., html=False, conn_rate=None)`` → a started Host
    serving ``/anaconda/pkgs/main/noarch/repodata.json``; the channel base is
    ``host.base_url + '/anaconda'``."""
    hosts: list[Host] = []
    body = repodata()

    def make(
        name: str,
        *,
        last_modified: str = "Mon, 23 Nov 2026 06:00:00 GMT",
        html: bool = False,
        conn_rate: float | None = None,
    ) -> Host:
        path = tmp_path / name / "repodata.json"
        path.parent.mkdir(parents=True)
        path.write_bytes(body)

        def app(req: Request) -> Response:
            if html:
                return Response(200, [("Content-Type", "text/html; charset=utf-8")], CAPTIVE)
            if req.path == "/anaconda/pkgs/main/noarch/repodata.json":
                headers = [("Content-Type", "application/json"), ("Last-Modified", last_modified)]
                return serve_file(req, path, len(body), headers)
            return Response(404, [("Content-Type", "text/plain")], b"not found\n")

        host = Host(name, app=app, conn_rate=conn_rate)
        host.start()
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.stop()
