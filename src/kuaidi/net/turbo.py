"""AutoDL's ``/etc/network_turbo`` (and look-alikes), read as data — never sourced or executed.

The file is a shell snippet. Seen in the wild (platforms.md §2)::

    export no_proxy=localhost,127.0.0.1,modelscope.com,aliyuncs.com,tencentyun.com,wisemodel.cn
    export http_proxy=http://172.31.1.128:12798 && export https_proxy=http://172.31.1.128:12798
    export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
    echo 设置成功

and variants: one ``export a=b c=d`` line, quoted values, separate lines, older images whose
``no_proxy`` is only ``localhost,127.0.0.1``. Only assignments are read; ``echo`` and every
other command are ignored, ``$var``/``${var}`` expand from earlier assignments in the same file.

For example::

    cfg = parse_network_turbo(Path("/etc/network_turbo"))
    cfg.proxy, cfg.no_proxy[:2]
    # ('http://172.31.1.128:12798', ('localhost', '127.0.0.1'))
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from kuaidi.errors import ConfigError
from kuaidi.net.proxyurl import proxy_problem
from kuaidi.net.urls import redact

DEFAULT_PATH = Path("/etc/network_turbo")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_PROXY_NAMES = ("http_proxy", "https_proxy", "all_proxy")


@dataclass(frozen=True)
class TurboConfig:
    """What a turbo file sets: the proxy, its ``no_proxy`` members, and the other exports."""

    path: Path
    proxy: str
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # every other assignment, e.g. CA bundle

    @property
    def url(self) -> str:  # alias: some callers say "url"
        return self.proxy


def parse_network_turbo(path: Path | str = DEFAULT_PATH) -> TurboConfig | None:
    """Parse the turbo file at ``path``; None when it does not exist.

    Raises :class:`~kuaidi.errors.ConfigError` naming the file (and the line) when it is
    unreadable, sets no proxy, or sets a proxy that is not an ``http(s)://`` / ``socks5://`` URL
    with a host and a port.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror or exc}",
            fix=f"check the permissions of {path}, or pass --proxy explicitly",
        ) from exc
    lines: dict[str, int] = {}
    assigned = parse_assignments(text, path, lines)
    values = {k.lower(): v for k, v in assigned.items() if k.lower() in _PROXY_NAMES and v}
    if not values:
        raise ConfigError(
            f"{path} sets no http_proxy or https_proxy",
            fix="pass --proxy URL (or KUAIDI_PROXY) to name the proxy yourself",
        )
    for name, value in values.items():
        original = next(k for k in assigned if k.lower() == name and assigned[k] == value)
        _check_proxy_url(value, original, path, lines.get(original, 0))
        values[name] = value if "://" in value else f"http://{value}"
    proxy = values.get("https_proxy") or values.get("http_proxy") or values["all_proxy"]
    no_proxy_raw = assigned.get("no_proxy") or assigned.get("NO_PROXY") or ""
    members = tuple(m.strip() for m in no_proxy_raw.split(",") if m.strip())
    skip = {n for n in assigned if n.lower() in (*_PROXY_NAMES, "no_proxy")}
    env = {k: v for k, v in assigned.items() if k not in skip}
    return TurboConfig(
        path=path,
        proxy=proxy,
        http_proxy=values.get("http_proxy"),
        https_proxy=values.get("https_proxy"),
        no_proxy=members,
        env=env,
    )


def parse_assignments(
    text: str, path: Path | str = "<text>", lines: dict[str, int] | None = None
) -> dict[str, str]:
    """Every ``NAME=value`` a shell snippet assigns (via ``export`` or bare), in order.

    Commands are split on newlines, ``&&``, ``||`` and ``;``; quoting follows the shell. A line
    the tokenizer cannot read (an unclosed quote) raises :class:`ConfigError` naming the line.
    ``lines``, when given, receives the line number of each name's last assignment.
    """
    assigned: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            tokens = list(lexer)
        except ValueError as exc:
            raise ConfigError(
                f"{path}:{lineno}: cannot read the line ({exc}): {line.strip()[:80]!r}",
                fix=f"fix the quoting in {path}, or pass --proxy explicitly",
            ) from exc
        for command in _commands(tokens):
            exported = command[0] == "export"
            words = [w for w in command[1:] if not w.startswith("-")] if exported else command
            pairs = [w.partition("=") for w in words]
            if not exported and not all(eq and _NAME.match(n) for n, eq, _ in pairs):
                continue  # echo, unset, or `a=b cmd` (an assignment for that command only)
            for name, eq, value in pairs:
                if eq and _NAME.match(name):
                    assigned[name] = _expand(value, assigned)
                    if lines is not None:
                        lines[name] = lineno
    return assigned


def _commands(tokens: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token and set(token) <= set(";&|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def _expand(value: str, assigned: dict[str, str]) -> str:
    return _REF.sub(lambda m: assigned.get(m.group(1) or m.group(2), ""), value)


def _check_proxy_url(value: str, name: str, path: Path, lineno: int) -> None:
    reason = proxy_problem(value)
    if reason is not None:
        where = f"{path}:{lineno}" if lineno else str(path)
        raise ConfigError(
            f"{where} sets {name}={redact(value)[:200]!r}, which is not a proxy URL "
            f"(scheme://host:port): {reason}",
            fix=f"correct {name} in {path}, or pass --proxy URL explicitly",
        )
