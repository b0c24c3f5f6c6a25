"""Wait until the sim has logged every request a client saw answered.

A sim host appends to its log after it finished sending the answer, so a test that reads the
log right after ``client.get`` returns can race the server thread. Count the hops (redirects
included) per host from the responses, then wait — bounded — until each log holds them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from kuaidi.sim import Sim


def wait_logged(sim: Sim, responses: Iterable[httpx.Response], timeout: float = 10.0) -> None:
    """Block until every hop of ``responses`` appears in its sim host's log."""
    by_port = {urlsplit(sim.url(name)).port: name for name in sim.hosts}
    want: Counter[str] = Counter()
    for resp in responses:
        for hop in (*resp.history, resp):
            name = by_port.get(hop.request.url.port)
            if name is not None:
                want[name] += 1
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(sim.log(name)) >= n for name, n in want.items()):
            return
        time.sleep(0.01)
    have = {name: len(sim.log(name)) for name in want}
    raise AssertionError(f"sim logs never caught up: want {dict(want)}, have {have}")
