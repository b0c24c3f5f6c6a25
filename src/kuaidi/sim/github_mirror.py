"""A university mirror re-hosting GitHub releases (NJU's ``github-release`` layout), domestic:
plain HTTP, not walled, ``/github-release/<owner>/<repo>/<tag>/<asset>``.

Host options: ``releases`` (as :mod:`kuaidi.sim.github`; the same bytes), ``range_mode``
(``"ignore"`` makes it a server that answers every ranged GET with the whole file)::

    Sim("wall", overrides={**github_hosts(), **mirror_hosts(range_mode="ignore")})
"""

from __future__ import annotations

import re
from typing import Any

from kuaidi.sim.github import DEFAULT_RELEASES, state_dir
from kuaidi.sim.gitrepo import make_asset
from kuaidi.sim.messages import App
from kuaidi.sim.server import Host, Request, Response, serve_file, text_response

_PATH = re.compile(r"^/github-release/([^/]+)/([^/]+)/([^/]+)/([^/]+)$")


def mirror_hosts(**options: Any) -> dict[str, dict[str, Any]]:
    """``Sim(overrides=…)`` entries adding the ``gh-mirror`` host."""
    return {"gh-mirror": {"protocol": "github-release-mirror", "options": options}}


def make_app(host: Host) -> App:
    releases = host.options.get("releases", DEFAULT_RELEASES)

    def app(req: Request) -> Response:
        m = _PATH.match(req.path)
        if not m or req.method not in ("GET", "HEAD"):
            return text_response("Not Found\n", 404)
        owner, repo, tag, name = m.groups()
        size = releases.get(f"{owner}/{repo}", {}).get(tag, {}).get(name)
        if size is None:
            return text_response("Not Found\n", 404)
        asset = make_asset(state_dir(host), owner, repo, tag, name, int(size))
        mode = str(host.options.get("range_mode", "honour"))
        return serve_file(req, asset.path, asset.size, [("ETag", asset.etag)], range_mode=mode)

    return app
