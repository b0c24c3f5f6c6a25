"""HTTP clients with a proxy scope: the origin through the proxy, every other host direct.

- :mod:`kuaidi.net.noproxy` — ``no_proxy``/``*_proxy`` semantics per client family
  (``effective_proxy``, ``decide``, ``NoProxy``).
- :mod:`kuaidi.net.scope` — :class:`ProxyScope`: which hosts go through which proxy.
- :mod:`kuaidi.net.client` — :func:`make_client`: an ``httpx.Client`` routed by a scope.
- :mod:`kuaidi.net.bulk` — bigger socket reads for the clients' transports (CPU per GiB).
- :mod:`kuaidi.net.auth` — :class:`ScopedToken`: a bearer token only for one origin.
- :mod:`kuaidi.net.turbo` — :func:`parse_network_turbo`: AutoDL's ``/etc/network_turbo``.
- :mod:`kuaidi.net.policy` — :class:`Policy`: the one retry policy (retryable statuses,
  backoff, ``Retry-After``/``RateLimit``, a per-host :class:`HostGate`) every request uses.
"""

from kuaidi.net.auth import ScopedToken
from kuaidi.net.client import make_client
from kuaidi.net.noproxy import (
    FAMILIES,
    Decision,
    NoProxy,
    decide,
    decide_all,
    effective_proxy,
)
from kuaidi.net.policy import (
    RETRYABLE_STATUS,
    Backoff,
    HostGate,
    Policy,
    default_policy,
    parse_ratelimit,
    parse_retry_after,
)
from kuaidi.net.scope import ORIGIN_SUFFIXES, ProxyScope
from kuaidi.net.turbo import TurboConfig, parse_network_turbo

__all__ = [
    "FAMILIES",
    "ORIGIN_SUFFIXES",
    "RETRYABLE_STATUS",
    "Backoff",
    "Decision",
    "HostGate",
    "NoProxy",
    "Policy",
    "ProxyScope",
    "ScopedToken",
    "TurboConfig",
    "decide",
    "decide_all",
    "default_policy",
    "effective_proxy",
    "make_client",
    "parse_network_turbo",
    "parse_ratelimit",
    "parse_retry_after",
]
