"""The ``no_proxy`` list that keeps every domestic mirror off a platform proxy.

Bare suffixes only (``tsinghua.edu.cn``, never ``*.x`` or ``.x``): the one form every client family
agrees on — requests, httpx, curl and reqwest (mirrors-and-config.md §7). Loopback names *and*
addresses are listed, since clients compare them as strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from kuaidi.mirrors import Mirror, default

LOOPBACK: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
# ModelScope's API is modelscope.cn and its files come from Aliyun OSS (aliyuncs.com); AutoDL's own
# list has modelscope.com, which is not the same domain.
MODELSCOPE_HOSTS: tuple[str, ...] = ("modelscope.cn", "aliyuncs.com")


def no_proxy_members(mirrors: Iterable[Mirror], extra: Iterable[str] = ()) -> list[str]:
    """Loopback, each mirror's suffix, ModelScope's hosts, then ``extra``; no duplicates.

    >>> from kuaidi.mirrors import find
    >>> no_proxy_members([find("pypi", "aliyun"), find("hf", "hf-mirror")])[3:]
    ['aliyun.com', 'hf-mirror.com', 'modelscope.cn', 'aliyuncs.com']
    """
    members: list[str] = []
    suffixes = [m.no_proxy or m.host for m in mirrors]
    for item in (*LOOPBACK, *suffixes, *MODELSCOPE_HOSTS, *extra):
        item = item.strip().lstrip(".")
        if item and item not in members:
            members.append(item)
    return members


DOMESTIC_NO_PROXY: tuple[str, ...] = tuple(
    no_proxy_members(default(kind) for kind in ("pypi", "conda", "hf", "python", "modelscope"))
)
