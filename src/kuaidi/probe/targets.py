"""What "measure a mirror the way a download uses it" means for each target.

Each target names a small request whose time to first byte is the latency a client feels
(PyPI ``simple/<pkg>/``, conda ``repodata.json``, HF ``HEAD`` on a resolve URL, a ModelScope file
listing), checks that the answer really is an index (not a captive portal's HTML), reads the
version it serves (for freshness), and names a real artifact for the ranged-GET throughput test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import quote, urljoin

from kuaidi.probe.candidates import Candidate

PYPI_JSON = "application/vnd.pypi.simple.v1+json"
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2")


@dataclass(frozen=True)
class Ask:
    """One HTTP request: method, URL, headers, and how much of the body to keep."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    keep: int = 2 * 1024 * 1024  # body bytes kept for inspection


@dataclass(frozen=True)
class Seen:
    """What the first answer showed: a problem (not an index…), the served version, the
    artifact to time, and a version that can be compared across mirrors (``order``)."""

    problem: str | None = None
    version: str | None = None
    artifact: str | None = None
    order: str = "version"  # version (newest wins) | equal (majority wins) | date (newest wins)


def looks_html(content_type: str, body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html"))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def dist_version(filename: str) -> str | None:
    """``pip-25.1-py3-none-any.whl`` → ``25.1``; ``pip-25.1.tar.gz`` → ``25.1``."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 5 else None
    for suffix in DIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            return stem.rsplit("-", 1)[1] if "-" in stem else None
    return None


class PypiTarget:
    """PEP 691 JSON (or PEP 503 HTML) page of ``package``; throughput on a wheel of
    ``artifact_package`` (default: the same package)."""

    kind = "pypi"

    def __init__(self, package: str = "pip", artifact_package: str | None = None) -> None:
        self.package = package
        self.artifact_package = artifact_package or package

    def first(self, cand: Candidate) -> Ask:
        return self.page(cand, self.package)

    @staticmethod
    def page(cand: Candidate, package: str) -> Ask:
        accept = f"{PYPI_JSON}, text/html;q=0.1"
        return Ask("GET", f"{cand.url}/{package}/", (("Accept", accept),))

    def inspect(self, url: str, headers: Mapping[str, str], body: bytes) -> Seen:
        files = self.files(url, headers.get("content-type", ""), body)
        if files is None:
            return Seen(problem="answers HTML that is not a package index (captive portal?)")
        versions = [v for v in (dist_version(name) for name, _, _ in files) if v]
        if not versions:
            return Seen(problem=f"the index lists no files for {self.package}")
        from kuaidi.probe.freshness import version_key

        newest = max(versions, key=version_key)
        return Seen(
            version=newest,
            artifact=self.pick(files) if self.artifact_package == self.package else None,
        )

    @staticmethod
    def files(url: str, content_type: str, body: bytes) -> list[tuple[str, str, int]] | None:
        """(filename, absolute URL, size or 0) from a project page; None if it is no index."""
        if PYPI_JSON in content_type or body[:1] == b"{":
            try:
                doc = json.loads(body)
                return [
                    (f["filename"], urljoin(url, f["url"]), int(f.get("size") or 0))
                    for f in doc.get("files", [])
                    if not f.get("yanked")
                ]
            except (ValueError, KeyError, TypeError, AttributeError):
                return None
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        found = [
            (text, urljoin(url, href.split("#", 1)[0]), 0)
            for href, text in parser.links
            if text.endswith(DIST_SUFFIXES)
        ]
        return found or None

    def pick(self, files: list[tuple[str, str, int]]) -> str | None:
        """The newest wheel (largest when sizes are known): what pip would download."""
        from kuaidi.probe.freshness import version_key

        wheels = [f for f in files if f[0].endswith(".whl")] or files
        if not wheels:
            return None
        best = max(wheels, key=lambda f: (version_key(dist_version(f[0]) or "0"), f[2]))
        return best[1]

    def artifact_page(self, cand: Candidate) -> Ask | None:
        """The page to read the artifact from when it is another package than the index page."""
        if self.artifact_package == self.package:
            return None
        return self.page(cand, self.artifact_package)

    def artifact_from(self, url: str, headers: Mapping[str, str], body: bytes) -> str | None:
        files = self.files(url, headers.get("content-type", ""), body)
        return self.pick(files) if files else None


class CondaTarget:
    """``<base>/pkgs/main/noarch/repodata.json``: TTFB on it, its Last-Modified for freshness,
    and a ranged GET of it for throughput (it is the first thing conda downloads)."""

    kind = "conda"

    def __init__(self, channel: str = "pkgs/main", subdir: str = "noarch") -> None:
        self.path = f"{channel}/{subdir}/repodata.json"

    def first(self, cand: Candidate) -> Ask:
        return Ask("GET", f"{cand.url}/{self.path}", keep=64 * 1024)

    def inspect(self, url: str, headers: Mapping[str, str], body: bytes) -> Seen:
        content_type, last_modified = (
            headers.get("content-type", ""),
            headers.get("last-modified", ""),
        )
        if looks_html(content_type, body) or body.lstrip()[:1] != b"{":
            return Seen(problem="answers HTML (or not JSON) instead of repodata.json")
        stamp = None
        if last_modified:
            try:
                stamp = str(int(parsedate_to_datetime(last_modified).timestamp()))
            except (TypeError, ValueError):
                stamp = None
        return Seen(version=stamp, artifact=url, order="date")


class HfTarget:
    """``HEAD`` on ``resolve/main/<small file>`` (the call every HF download starts with);
    a ranged GET of ``<big file>`` following the CDN redirect."""

    kind = "hf"

    def __init__(
        self,
        repo: str = "openai-community/gpt2",
        small: str = "config.json",
        big: str = "model.safetensors",
    ) -> None:
        self.repo, self.small, self.big = repo, small, big

    def first(self, cand: Candidate) -> Ask:
        return Ask("HEAD", f"{cand.url}/{self.repo}/resolve/main/{quote(self.small)}")

    def inspect(self, url: str, headers: Mapping[str, str], body: bytes) -> Seen:
        content_type, commit = headers.get("content-type", ""), headers.get("x-repo-commit", "")
        if looks_html(content_type, body) and not commit:
            return Seen(problem="answers HTML, not the HF protocol (captive portal?)")
        if not commit:
            return Seen(problem="no X-Repo-Commit header: not an HF endpoint")
        # the HEAD was redirected (resolve-cache, CDN): the artifact is named from the endpoint
        return Seen(version=commit, order="equal")

    def artifact_url(self, cand: Candidate) -> str:
        return f"{cand.url}/{self.repo}/resolve/main/{quote(self.big)}"


class ModelScopeTarget:
    """The file listing of ``repo`` (what ``snapshot_download`` asks first); a ranged GET of
    its largest file."""

    kind = "modelscope"

    def __init__(self, repo: str = "Qwen/Qwen2.5-0.5B-Instruct") -> None:
        self.repo = repo

    def first(self, cand: Candidate) -> Ask:
        return Ask(
            "GET",
            f"{cand.url}/api/v1/models/{self.repo}/repo/files?Revision=master&Recursive=true",
        )

    def inspect(self, url: str, headers: Mapping[str, str], body: bytes) -> Seen:
        content_type = headers.get("content-type", "")
        try:
            doc = json.loads(body)
            files = [f for f in doc["Data"]["Files"] if f.get("Type") == "blob"]
        except (ValueError, KeyError, TypeError):
            kind = "HTML" if looks_html(content_type, body) else "something else"
            return Seen(problem=f"answers {kind}, not a ModelScope file listing")
        if not files:
            return Seen(problem=f"{self.repo} lists no files")
        biggest = max(files, key=lambda f: int(f.get("Size") or 0))
        base = url.split("/api/v1/", 1)[0]
        path = quote(biggest["Path"])
        artifact = f"{base}/api/v1/models/{self.repo}/repo?Revision=master&FilePath={path}"
        return Seen(version=str(files[0].get("Revision") or ""), artifact=artifact, order="equal")


def make_target(
    kind: str, **options: str | None
) -> PypiTarget | CondaTarget | HfTarget | ModelScopeTarget:
    """The target for ``kind`` with the user's options (package, repo, …); None values ignored."""
    given = {k: v for k, v in options.items() if v}
    if kind == "pypi":
        return PypiTarget(given.get("package", "pip"), given.get("artifact_package"))
    if kind == "conda":
        return CondaTarget()
    if kind == "hf":
        return HfTarget(**{k: given[k] for k in ("repo", "small", "big") if k in given})
    if kind == "modelscope":
        return ModelScopeTarget(given.get("repo", "Qwen/Qwen2.5-0.5B-Instruct"))
    raise ValueError(kind)
