"""no_proxy / *_proxy semantics per client family: a rule table, then the real clients agree.

The table states each rule of mirrors-and-config.md §7 (and what the real code showed where the
reference was loose); the cross-checks run the same grid through requests (pip's vendored 2.31
and 2.34), httpx 0.28, httpx2 and the curl binary, so the model cannot drift from the tools.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kuaidi.net.noproxy import (
    FAMILIES,
    ClientWouldFail,
    NoProxy,
    decide,
    decide_all,
    effective_proxy,
    no_proxy_value,
    proxy_variable,
)
from tests.conftest import require_binary
from tests.net.oracles import curl

ROOT = Path(__file__).resolve().parents[2]
P = "http://127.0.0.9:9"  # a closed port: nothing is ever sent anywhere
BOTH = {"http_proxy": P, "https_proxy": P}


def via(family: str, url: str, **env: str) -> bool:
    """True when ``family`` sends ``url`` through the proxy."""
    return effective_proxy(url, {**BOTH, **env}, family) is not None  # type: ignore[arg-type]


# (no_proxy, url, {family: goes through the proxy?}) — families not named follow "default"
RULES: list[tuple[str, str, dict[str, bool]]] = [
    # raw endswith without a dot boundary: only legacy requests exempts xaliyun.com
    ("aliyun.com", "https://xaliyun.com/", {"default": True, "requests": False}),
    ("aliyun.com", "https://mirrors.aliyun.com/", {"default": False}),
    ("aliyun.com", "https://aliyun.com/", {"default": False}),
    # a leading dot: httpx matches subdomains only; the others strip it
    (".aliyun.com", "https://aliyun.com/", {"default": False, "httpx": True, "httpx2": True}),
    (".aliyun.com", "https://mirrors.aliyun.com/", {"default": False}),
    # *.x: nothing in httpx 0.28, requests, curl or uv; subdomains in httpx2; kuaidi = .x
    (
        "*.aliyun.com",
        "https://mirrors.aliyun.com/",
        {"default": True, "httpx2": False, "kuaidi": False},
    ),
    ("*.aliyun.com", "https://aliyun.com/", {"default": True, "kuaidi": False}),
    # '*' alone: everything; '*' inside a list: httpx, httpx2, uv and kuaidi only
    ("*", "https://pypi.org/", {"default": False}),
    (
        "a.com,*",
        "https://pypi.org/",
        {"default": True, "httpx": False, "httpx2": False, "uv": False, "kuaidi": False},
    ),
    # CIDR: not in httpx 0.28 (an exact IP there)
    ("127.0.0.0/8", "http://127.0.0.5:7/", {"default": False, "httpx": True}),
    ("127.0.0.1", "http://127.0.0.1:5000/", {"default": False}),
    # case: every family compares case-insensitively
    ("ALIYUN.COM", "https://mirrors.aliyun.com/", {"default": False}),
    # an entry with a port: requests and httpx honour it, curl/uv/kuaidi ignore the port
    ("aliyun.com:8080", "http://aliyun.com:8080/", {"default": False, "curl": True, "uv": True}),
    ("aliyun.com:8080", "http://aliyun.com/", {"default": True, "kuaidi": False}),
    # blanks between entries: curl and kuaidi split on them
    (
        "x.com tsinghua.edu.cn",
        "https://pypi.tuna.tsinghua.edu.cn/",
        {"default": True, "curl": False, "kuaidi": False},
    ),
    # suffix on a label boundary inside a name
    ("liyun.com", "https://mirrors.aliyun.com/", {"default": True, "requests": False}),
]


@pytest.mark.parametrize(("no_proxy", "url", "expect"), RULES)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_rule_table(family: str, no_proxy: str, url: str, expect: dict[str, bool]) -> None:
    want = expect.get(family, expect["default"])
    assert via(family, url, no_proxy=no_proxy) is want


# -- which variable each family reads ------------------------------------------------------------


def test_uv_reads_upper_no_proxy_first_everyone_else_lower() -> None:
    env = {**BOTH, "no_proxy": "hf-mirror.com", "NO_PROXY": "localhost"}
    url = "https://hf-mirror.com/api"
    assert effective_proxy(url, env, "uv") == P
    for family in ("kuaidi", "requests", "requests-new", "httpx", "httpx2", "curl"):
        assert effective_proxy(url, env, family) is None, family  # type: ignore[arg-type]


def test_empty_lowercase_no_proxy() -> None:
    env = {**BOTH, "no_proxy": "", "NO_PROXY": "aliyun.com"}
    url = "https://mirrors.aliyun.com/"
    # urllib: an empty lowercase value unsets the variable → httpx proxies
    assert effective_proxy(url, env, "httpx") == P
    assert effective_proxy(url, env, "httpx2") == P
    # requests' own check (``no_proxy or NO_PROXY``) and curl (empty = unset) fall through
    assert effective_proxy(url, env, "requests") is None
    assert effective_proxy(url, env, "curl") is None
    assert effective_proxy(url, env, "uv") is None
    assert no_proxy_value(env, "httpx") == ""


def test_curl_never_reads_upper_http_proxy() -> None:
    env = {"HTTP_PROXY": P, "HTTPS_PROXY": P}
    assert proxy_variable("http", env, "curl") is None
    assert proxy_variable("https", env, "curl") == ("HTTPS_PROXY", P)
    assert proxy_variable("http", env, "requests") == ("http_proxy", P)
    assert proxy_variable("http", env, "uv") == ("HTTP_PROXY", P)


def test_lowercase_proxy_wins_and_empty_lowercase_unsets() -> None:
    env = {"https_proxy": "", "HTTPS_PROXY": P}
    assert proxy_variable("https", env, "requests") is None
    assert proxy_variable("https", env, "httpx") is None
    assert proxy_variable("https", env, "curl") == ("HTTPS_PROXY", P)  # empty = unset in curl
    assert proxy_variable("https", env, "uv") == ("HTTPS_PROXY", P)
    other = "http://127.0.0.8:8"
    assert proxy_variable("https", {"https_proxy": P, "HTTPS_PROXY": other}, "httpx") == (
        "https_proxy",
        P,
    )
    assert proxy_variable("https", {"https_proxy": P, "HTTPS_PROXY": other}, "uv") == (
        "HTTPS_PROXY",
        other,
    )


def test_all_proxy_is_the_fallback() -> None:
    assert effective_proxy("https://pypi.org/", {"all_proxy": P}, "requests") == P
    assert effective_proxy("https://pypi.org/", {"ALL_PROXY": P}, "curl") == P


def test_httpx_028_refuses_ipv6_cidr_and_decide_says_so() -> None:
    env = {**BOTH, "no_proxy": "localhost,fe80::/10"}
    decision = decide("https://hf-mirror.com/", env, "httpx")
    assert decision.error and "fe80::/10" in decision.error
    with pytest.raises(ClientWouldFail):
        effective_proxy("https://hf-mirror.com/", env, "httpx")
    assert effective_proxy("http://[fe80::1]/", env, "httpx2") is None


def test_decision_reasons_name_the_variable() -> None:
    d = decide("https://hf-mirror.com/", {"https_proxy": P}, "curl")
    assert d.proxy == P and "https_proxy" in d.reason
    d = decide("https://hf-mirror.com/", {"https_proxy": P, "no_proxy": "hf-mirror.com"}, "curl")
    assert d.direct and "hf-mirror.com" in d.reason
    assert decide("https://x/", {}, "uv").reason.startswith("no https proxy")


def test_unknown_family_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown client family"):
        effective_proxy("https://x/", BOTH, "wget")  # type: ignore[arg-type]


# -- kuaidi's own rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "host", "want"),
    [
        ("aliyun.com", "mirrors.aliyun.com", True),
        ("aliyun.com", "xaliyun.com", False),
        (".aliyun.com", "aliyun.com", True),
        ("*.aliyun.com", "aliyun.com", True),
        ("ALIYUN.com", "Mirrors.Aliyun.COM", True),
        ("aliyun.com:8080", "aliyun.com", True),
        ("*", "anything.example", True),
        ("10.0.0.0/8", "10.20.30.40", True),
        ("10.0.0.0/8", "11.0.0.1", False),
        ("::1", "[::1]", True),
        ("fe80::/10", "fe80::1", True),
        ("[::1]:8080", "::1", True),
        ("localhost 127.0.0.1", "127.0.0.1", True),
        ("http://hf-mirror.com", "hf-mirror.com", True),
        ("aliyun.com.", "aliyun.com", True),
        ("", "aliyun.com", False),
        ("0.0.1", "127.0.0.1", False),
    ],
)
def test_kuaidi_no_proxy(value: str, host: str, want: bool) -> None:
    assert NoProxy.parse(value).matches(host) is want


def test_kuaidi_reads_both_casings() -> None:
    scope = NoProxy.from_env({"no_proxy": "a.com", "NO_PROXY": "b.com"})
    assert scope.matches("x.a.com") and scope.matches("b.com")
    assert str(NoProxy.parse(" .A.com, 10.0.0.0/8 ")) == "a.com,10.0.0.0/8"
    assert not NoProxy.parse("") and NoProxy.parse("*")


# -- the real clients agree with the model ---------------------------------------------------------

HOST_URLS = [
    "https://aliyun.com/",
    "https://mirrors.aliyun.com/x",
    "https://xaliyun.com/",
    "http://aliyun.com:8080/",
    "http://127.0.0.5:7/",
    "http://localhost:8000/",
    "https://pypi.tuna.tsinghua.edu.cn/",
    "https://MIRRORS.Aliyun.com/",
]
PY_ONLY_URLS = ["http://10.1.2.3/", "http://[::1]:8000/", "http://[fe80::1]/"]
ENTRIES = [
    *sorted({r[0] for r in RULES}),
    "localhost",
    "",
    "aliyun.com.",
    "0.0.1",
    "http://aliyun.com",
    "127.0.0.5/32",
    "hf-mirror.com ,tsinghua.edu.cn",
]
PY_ONLY_ENTRIES = ["::1", "fe80::/10", "[::1]", "10.0.0.0/8"]
ENVS = [{**BOTH, "no_proxy": e} for e in ENTRIES] + [
    {"HTTPS_PROXY": P, "https_proxy": "", "HTTP_PROXY": P},
    {"https_proxy": P, "no_proxy": "", "NO_PROXY": "aliyun.com"},
    {"HTTPS_PROXY": P, "NO_PROXY": "aliyun.com", "no_proxy": "x.com"},
    {"all_proxy": P},
    {"ALL_PROXY": P, "https_proxy": ""},
    {"HTTP_PROXY": P},
]


def _grid(py: bool) -> list[dict]:
    envs = ENVS + ([{**BOTH, "no_proxy": e} for e in PY_ONLY_ENTRIES] if py else [])
    urls = HOST_URLS + (PY_ONLY_URLS if py else [])
    return [{"env": env, "url": url} for env in envs for url in urls]


def _python_for(family: str) -> str:
    if family == "requests":  # requests 2.31, as vendored by pip 23 (what CN images still run)
        hf0 = os.environ.get("KUAIDI_HF0_PYTHON") or str(ROOT / ".venv-hf0/bin/python")
        if not Path(hf0).exists():
            pytest.skip("the old-hub venv (.venv-hf0) is missing; make test builds it")
        return hf0
    return sys.executable


def _normalize(answer: str | None) -> str | None:
    if answer is None:
        return None
    return "ERROR" if answer.startswith("ERROR") else P


@pytest.mark.parametrize("family", ["requests", "requests-new", "httpx", "httpx2"])
def test_python_clients_agree(family: str) -> None:
    cases = _grid(py=True)
    run = subprocess.run(
        [_python_for(family), "-m", "tests.net.oracles", family],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    answers = json.loads(run.stdout)
    wrong = []
    for case, answer in zip(cases, answers, strict=True):
        decision = decide(case["url"], case["env"], family)  # type: ignore[arg-type]
        mine = "ERROR" if decision.error else decision.proxy
        if mine != _normalize(answer):
            wrong.append((case, mine, answer))
    assert not wrong, wrong[:5]
    assert len(cases) > 300


def test_curl_agrees() -> None:
    binary = require_binary("curl")
    wrong = []
    for case in _grid(py=False):
        mine = decide(case["url"], case["env"], "curl").proxy
        real = curl(case["url"], case["env"], binary)
        if mine != real:
            wrong.append((case, mine, real))
    assert not wrong, wrong[:5]


def test_decide_all_shows_where_families_disagree() -> None:
    env = {**BOTH, "no_proxy": "hf-mirror.com", "NO_PROXY": "localhost"}
    decisions = decide_all("https://hf-mirror.com/api/models/gpt2", env)
    assert set(decisions) == set(FAMILIES)
    assert [f for f, d in decisions.items() if not d.direct] == ["uv"]
