"""Hugging Face traps: no mirror endpoint, Xet bypassing the mirror, hf_transfer hangs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

from kuaidi.doctor.context import Context
from kuaidi.doctor.model import Finding, SetupFix, check
from kuaidi.mirrors import default, find
from kuaidi.model import hfpaths

ORIGIN_HOSTS = ("huggingface.co", "hf.co", "www.huggingface.co")
# huggingface_hub's own truthiness rule (constants._is_true)
TRUE_VALUES = ("1", "ON", "YES", "TRUE")


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().upper() in TRUE_VALUES


def endpoint_kind(url: str | None) -> str:
    """``unset`` | ``origin`` | ``modelscope`` | ``mirror`` for an ``HF_ENDPOINT`` value."""
    if not url:
        return "unset"
    host = (urlsplit(url if "://" in url else f"https://{url}").hostname or "").lower()
    if host in ORIGIN_HOSTS:
        return "origin"
    if host == "modelscope.cn" or host.endswith((".modelscope.cn", ".modelscope.ai")):
        return "modelscope"
    return "mirror"


def good_endpoint(ctx: Context) -> str | None:
    """The user's ``HF_ENDPOINT`` when it is a usable mirror (kept by every ``--fix``)."""
    value = ctx.env("HF_ENDPOINT")
    if value is None or endpoint_kind(value) != "mirror":
        return None
    mirror = find("hf", value.rstrip("/"))
    return mirror.url if mirror.custom else mirror.name


def env_fix(ctx: Context) -> SetupFix:
    """Rewrite kuaidi's env file (and its one line in the shell rc files)."""
    return SetupFix(("env", "shell"), hf=good_endpoint(ctx))


@check("hf.endpoint", "error", "HF_ENDPOINT points at a mirror")
def check_endpoint(ctx: Context) -> list[Finding]:
    value = ctx.env("HF_ENDPOINT")
    kind = endpoint_kind(value)
    mirror = default("hf").url
    fix = f"export HF_ENDPOINT={mirror} in the env file, before Python starts"
    if kind == "unset":
        message = (
            "HF_ENDPOINT is not set: huggingface_hub, transformers and datasets go to "
            "huggingface.co"
        )
    elif kind == "origin":
        message = (
            f"HF_ENDPOINT is the origin ({value}), which is slow or walled from mainland China"
        )
    elif kind == "modelscope":
        message = "HF_ENDPOINT points at ModelScope, which does not speak the HF protocol"
        fix = (
            f"use {mirror} for HF_ENDPOINT; download ModelScope repos with modelscope / kuaidi get"
        )
    else:
        return []
    evidence = (f"HF_ENDPOINT={value if value else '<unset>'}",)
    return [Finding("hf.endpoint", "error", message, evidence, fix, env_fix(ctx))]


@check("hf.xet", "error", "Xet is off when HF_ENDPOINT is a mirror")
def check_xet(ctx: Context) -> list[Finding]:
    endpoint = ctx.env("HF_ENDPOINT")
    if endpoint_kind(endpoint) != "mirror" or is_true(ctx.env("HF_HUB_DISABLE_XET")):
        return []
    installed = importlib.util.find_spec("hf_xet") is not None
    evidence = (
        f"HF_ENDPOINT={endpoint}",
        f"HF_HUB_DISABLE_XET={ctx.environ.get('HF_HUB_DISABLE_XET') or '<unset>'}",
        f"hf_xet importable here: {'yes' if installed else 'no'} "
        "(a hard dependency of huggingface_hub ≥ 1)",
    )
    return [
        Finding(
            "hf.xet",
            "error",
            "Xet is enabled with a mirror endpoint: Xet files bypass HF_ENDPOINT and fetch from "
            "xethub.hf.co, which hangs or fails from mainland China",
            evidence,
            "export HF_HUB_DISABLE_XET=1",
            env_fix(ctx),
        )
    ]


@check("hf.transfer", "warning", "hf_transfer is off")
def check_transfer(ctx: Context) -> list[Finding]:
    value = ctx.env("HF_HUB_ENABLE_HF_TRANSFER")
    if not is_true(value):
        return []
    return [
        Finding(
            "hf.transfer",
            "warning",
            "hf_transfer is enabled: it can hang without an error on a flaky link and is "
            "deprecated",
            (f"HF_HUB_ENABLE_HF_TRANSFER={value}",),
            "export HF_HUB_ENABLE_HF_TRANSFER=0 (kuaidi get resumes segmented downloads instead)",
            env_fix(ctx),
        )
    ]


def token_file(ctx: Context) -> Path:
    """Where huggingface_hub looks for the saved login: ``$HF_TOKEN_PATH``, else
    ``$HF_HOME/token`` (``HF_HOME`` defaulting to ``$XDG_CACHE_HOME/huggingface``)."""
    return ctx.on_box(hfpaths.hf_token_path(ctx.environ, ctx.home))


@check("hf.token_left_behind", "warning", "a saved HF login is where huggingface_hub looks")
def check_token_left_behind(ctx: Context) -> list[Finding]:
    if ctx.env("HF_TOKEN") or ctx.env("HUGGING_FACE_HUB_TOKEN"):
        return []  # a token in the environment wins over every file
    looked = token_file(ctx)
    if looked.is_file():
        return []
    old = [ctx.cache_home / "huggingface" / "token", ctx.home / ".huggingface" / "token"]
    left = next((p for p in old if p.is_file() and p != looked), None)
    if left is None:
        return []
    return [
        Finding(
            "hf.token_left_behind",
            "warning",
            f"your saved Hugging Face login is at {left}, but huggingface_hub looks for it at "
            f"{looked}: gated and private downloads go out with no token",
            (f"HF_HOME={ctx.environ.get('HF_HOME') or '<unset>'}", f"token file: {left}"),
            f"export HF_TOKEN_PATH={left} (kuaidi setup --only env,shell writes it)",
            env_fix(ctx),
        )
    ]
