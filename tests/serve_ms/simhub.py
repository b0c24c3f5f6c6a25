"""A Hub over the sim, for driving the ModelScope front with real clients before the real Hub
(``serve``'s fill machinery) is in: listings come from the sim's HF host through kuaidi's own
HFSource, bytes from the sim's generated content. It does not gate: ``ms_front`` hands the
UpstreamGate to the front (``routes(hub, gate=…)``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from kuaidi.errors import EntryNotFound
from kuaidi.model.repo import Listing, RepoRef
from kuaidi.net.client import make_client
from kuaidi.net.scope import ProxyScope
from kuaidi.serve.gate import UpstreamGate
from kuaidi.serve.modelscope import routes
from kuaidi.sim import Sim
from kuaidi.sources.hf import HFSource


@dataclass
class FileReader:
    path: Path
    size: int

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        stop = self.size if end is None else end
        with self.path.open("rb") as f:
            f.seek(start)
            pos = start
            while pos < stop:
                data = f.read(min(1 << 16, stop - pos))
                if not data:
                    raise OSError("short file")
                pos += len(data)
                yield data


class SimHub:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.client = make_client(ProxyScope.direct())
        self.endpoint = sim.url("hf-mirror")

    async def snapshot(self, repo: RepoRef, token: str | None) -> Listing:
        source = HFSource(self.endpoint, self.client, token)
        return await asyncio.to_thread(source.list, repo)

    async def open(self, listing: Listing, path: str, token: str | None) -> FileReader:
        repo = self.sim.catalog.get(listing.repo.repo_type, listing.repo.repo_id)
        commit = repo.resolve(listing.commit) if repo is not None else None
        f = commit.files.get(path) if commit is not None else None
        if f is None:
            raise EntryNotFound(f"{path} not in {listing.repo.repo_id}")
        return FileReader(f.blob_path, f.size)


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def ms_front(sim: Sim, **gate_args: object) -> Iterator[str]:
    gate = UpstreamGate(sim.url("hf-mirror"), scope=ProxyScope.direct(), **gate_args)  # type: ignore[arg-type]
    with serving(Starlette(routes=routes(SimHub(sim), gate=gate))) as url:
        yield url
