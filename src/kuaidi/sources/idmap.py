"""Hugging Face id → ModelScope id candidates, from a data table the user can extend.

The built-in table (``idmap.toml`` next to this module) knows the orgs that differ
(``meta-llama`` ↔ ``LLM-Research``, ``THUDM``/``zai-org`` ↔ ``ZhipuAI``, …) and the odd repos
(``meta-llama/Llama-2-7b-hf`` ↔ ``modelscope/Llama-2-7b-ms``). A user file
(``~/.config/kuaidi/idmap.toml``, or ``$KUAIDI_IDMAP``) in the same format is consulted first.

A candidate is only a candidate: the ladder (:mod:`kuaidi.sources.routeplan`) uses a ModelScope file
only when its hashes match the Hub's.

>>> candidates("meta-llama/Llama-3.1-8B-Instruct", user_file=None)
['LLM-Research/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct']
>>> candidates("meta-llama/Llama-2-7b-chat-hf", user_file=None)[0]
'modelscope/Llama-2-7b-chat-ms'
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypeGuard

import tomlkit
from tomlkit.exceptions import TOMLKitError

from kuaidi.errors import KuaidiError


@dataclass(frozen=True)
class RepoRule:
    """One ``[[repo]]`` entry: a HF id glob and the ModelScope id templates it yields."""

    hf: str
    ms: tuple[str, ...]
    origin: str = "built-in"

    def apply(self, hf_repo_id: str) -> list[str] | None:
        """The ModelScope ids for ``hf_repo_id``, or None when the glob does not match."""
        match = re.fullmatch(_glob_regex(self.hf), hf_repo_id)
        if match is None:
            return None
        org, _, name = hf_repo_id.partition("/")
        values = {"org": org, "name": name}
        values.update({str(i): g for i, g in enumerate(match.groups(), 1)})
        return [_fill(t, values, self) for t in self.ms]


def _glob_regex(glob: str) -> str:
    """``*`` → a capturing ``(.*)``, ``?`` → ``(.)``, ``[...]`` kept; the rest literal."""
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append("(.*)")
        elif c == "?":
            out.append("(.)")
        elif c == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 1)
            out.append("[" + glob[i + 1 : end].replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _fill(template: str, values: dict[str, str], rule: RepoRule) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KuaidiError(
                f"idmap rule {rule.hf!r} ({rule.origin}) has a bad template {template!r}",
                fix="use {org}, {name} or {1}, {2}… for the glob's * parts",
            )
        return values[key]

    return re.sub(r"\{(\w+)\}", one, template)


@dataclass(frozen=True)
class IdMap:
    """Rules and org mappings, user entries first."""

    rules: tuple[RepoRule, ...] = ()
    orgs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, origin: str) -> IdMap:
        """Read the TOML format described in ``idmap.toml``; KuaidiError naming ``origin``."""
        try:
            data: dict[str, Any] = tomlkit.parse(text).unwrap()
        except TOMLKitError as exc:
            raise KuaidiError(f"{origin} is not valid TOML: {exc}", fix=f"fix {origin}") from exc
        rules: list[RepoRule] = []
        for i, entry in enumerate(data.get("repo", [])):
            hf, ms = (entry.get("hf"), entry.get("ms")) if isinstance(entry, dict) else (None, None)
            if isinstance(ms, str):
                ms = [ms]
            if not isinstance(hf, str) or "/" not in hf or not _ids(ms):
                raise KuaidiError(
                    f'{origin}: [[repo]] #{i + 1} needs hf = "org/name" and ms = ["org/name", …]',
                    fix=f"fix {origin}",
                )
            rules.append(RepoRule(hf, tuple(ms), origin))
        orgs: dict[str, tuple[str, ...]] = {}
        for org, targets in (data.get("org") or {}).items():
            if isinstance(targets, str):
                targets = [targets]
            if not isinstance(targets, list) or not all(
                isinstance(t, str) and t and "/" not in t for t in targets
            ):
                raise KuaidiError(
                    f"{origin}: [org] {org} must be a list of ModelScope org names",
                    fix=f"fix {origin}",
                )
            orgs[org] = tuple(targets)
        return cls(tuple(rules), orgs, (origin,))

    def merged_over(self, base: IdMap) -> IdMap:
        """This map's entries first, then ``base``'s."""
        return IdMap(
            rules=(*self.rules, *base.rules),
            orgs={**base.orgs, **self.orgs},
            sources=(*self.sources, *base.sources),
        )

    def explain(self, hf_repo_id: str) -> list[tuple[str, str]]:
        """``(ModelScope id, why)`` in the order they should be tried."""
        if hf_repo_id.count("/") != 1 or not all(hf_repo_id.split("/")):
            raise KuaidiError(
                f"{hf_repo_id!r} is not a repo id", fix="give it as org/name, e.g. Qwen/Qwen3-8B"
            )
        org, _, name = hf_repo_id.partition("/")
        found: list[tuple[str, str]] = []
        for rule in self.rules:
            ids = rule.apply(hf_repo_id)
            if ids is not None:
                if not ids:  # an explicit "never ModelScope"
                    return []
                found += [(i, f"repo rule {rule.hf!r} ({rule.origin})") for i in ids]
                break
        targets = self.orgs.get(org)
        if targets is None:  # HF orgs are case-insensitive in URLs
            targets = next((v for k, v in self.orgs.items() if k.lower() == org.lower()), None)
        if targets is not None and not targets:
            return []
        found += [(f"{t}/{name}", f"org {org} → {t}") for t in targets or ()]
        found.append((hf_repo_id, "the same id"))
        out: list[tuple[str, str]] = []
        for ms_id, why in found:
            if ms_id not in [o for o, _ in out]:
                out.append((ms_id, why))
        return out

    def candidates(self, hf_repo_id: str) -> list[str]:
        """ModelScope ids to try for ``hf_repo_id``, best first (empty: never ModelScope)."""
        return [ms_id for ms_id, _ in self.explain(hf_repo_id)]


def _ids(value: Any) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) and "/" in v for v in value)


def builtin() -> IdMap:
    """The table shipped with kuaidi."""
    text = resources.files("kuaidi.sources").joinpath("idmap.toml").read_text(encoding="utf-8")
    return IdMap.parse(text, "built-in idmap.toml")


def user_file_path() -> Path:
    """``$KUAIDI_IDMAP``, else ``<user config dir>/kuaidi/idmap.toml``."""
    if os.environ.get("KUAIDI_IDMAP"):
        return Path(os.environ["KUAIDI_IDMAP"])
    from platformdirs import user_config_path

    return user_config_path("kuaidi") / "idmap.toml"


class _Default(enum.Enum):
    """Sentinel type for "the user file from the environment" (None means no user file)."""

    TOKEN = enum.auto()


_DEFAULT: Final = _Default.TOKEN
UserFile = Path | str | Literal[_Default.TOKEN] | None


def load(user_file: UserFile = _DEFAULT) -> IdMap:
    """The built-in table with the user's file (if it exists) in front of it."""
    path = user_file_path() if user_file is _DEFAULT else user_file
    base = builtin()
    if path is None:
        return base
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return base
    except (OSError, UnicodeDecodeError) as exc:
        raise KuaidiError(f"cannot read {path}: {exc}", fix=f"fix or remove {path}") from exc
    return IdMap.parse(text, str(path)).merged_over(base)


def candidates(hf_repo_id: str, *, user_file: UserFile = _DEFAULT) -> list[str]:
    """ModelScope ids to try for a HF repo id, best first (see :class:`IdMap`)."""
    return load(user_file).candidates(hf_repo_id)
