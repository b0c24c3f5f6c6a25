"""HTTP clients with a proxy scope: the origin through the proxy, every other host direct.

- :mod:`kuaidi.net.noproxy` — ``no_proxy``/``*_proxy`` semantics per client family
  (``effective_proxy``, ``decide``, ``NoProxy``).
- :mod:`kuaidi.net.scope` — :class:`ProxyScope`: which hosts go through which proxy.
- :mod:`kuaidi.net.client` — :func:`make_client`: an ``httpx.Client`` routed by a scope.
- :mod:`kuaidi.net.auth` — :class:`ScopedToken`: a bearer token only for one origin.
- :mod:`kuaidi.net.turbo` — :func:`parse_network_turbo`: AutoDL's ``/etc/network_turbo``.
"""
