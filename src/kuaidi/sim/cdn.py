"""A CDN host: serves blobs by content hash behind signed, expiring URLs.

Protocol apps redirect here (HF's 302 for LFS files; ModelScope's OSS redirect)::

    url = signed_url(host.sim.hosts["hf-cdn"], f.sha256, "model.safetensors")
    return Response(302, [("Location", url), ...])

URL shape, like S3/CloudFront presigned links::

    {base}/blobs/{sha256}/{filename}?X-Amz-Expires={ttl}&Expires={unix}&Signature={hmac}

The CDN answers 403 ``SignatureDoesNotMatch`` for a tampered URL and 403 ``Request has expired``
after ``Expires`` (host option ``url_ttl``, default 3600 s; ``url_ttl: -1`` makes every URL born
expired, which tests use instead of sleeping). Range is honoured (206/416).

Host options: ``url_ttl`` (seconds), ``range_mode`` (see ``serve_file``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from kuaidi.sim.server import Host, Request, Response, expired_response, serve_file

DEFAULT_TTL = 3600


def _secret(host: Host) -> bytes:
    seed = host.sim.seed if host.sim is not None else 0
    return hashlib.sha256(f"kuaidi-sim-cdn|{seed}|{host.name}".encode()).digest()


def _signature(host: Host, path: str, expires: int) -> str:
    return hmac.new(_secret(host), f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def signed_url(cdn: Host, sha256: str, filename: str, ttl: int | None = None) -> str:
    """An absolute URL on ``cdn`` for the blob ``sha256``, valid for ``ttl`` seconds."""
    ttl = int(cdn.options.get("url_ttl", DEFAULT_TTL) if ttl is None else ttl)
    expires = int(time.time()) + ttl
    path = f"/blobs/{sha256}/{quote(filename.rsplit('/', 1)[-1])}"
    sig = _signature(cdn, path, expires)
    return f"{cdn.base_url}{path}?X-Amz-Expires={ttl}&Expires={expires}&Signature={sig}"


def make_app(host: Host):
    """The CDN app for ``host``; blobs come from ``host.sim.catalog``."""

    def app(req: Request) -> Response:
        parts = req.path.split("/")
        if req.method not in ("GET", "HEAD") or len(parts) < 4 or parts[1] != "blobs":
            return Response(404, [("Content-Type", "text/plain")], b"Not Found\n")
        sha256 = parts[2]
        raw_path = req.raw_path.split("?", 1)[0]
        try:
            expires = int(req.arg("Expires") or "")
        except ValueError:
            expires = -1
        good = _signature(host, raw_path, expires)
        if not hmac.compare_digest(good, req.arg("Signature") or ""):
            body = b"<Error><Code>SignatureDoesNotMatch</Code></Error>\n"
            return Response(403, [("Content-Type", "application/xml")], body)
        if time.time() > expires:
            return expired_response()
        assert host.sim is not None
        blob = host.sim.catalog.blob(sha256)
        if blob is None:
            return Response(404, [("Content-Type", "application/xml")], b"<Error>NoSuchKey</Error>")
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("ETag", f'"{sha256}"'),
            ("Content-Disposition", f"attachment; filename*=UTF-8''{parts[-1]}"),
            ("Cache-Control", "public, max-age=604800, immutable"),
        ]
        return serve_file(
            req,
            blob.blob_path,
            blob.size,
            headers,
            range_mode=host.options.get("range_mode", "honour"),
        )

    return app
