"""conda: a mirrored pytorch-nightly channel (mirrors never sync it) and ``channel_alias`` set to
a mirror (every unmirrored ``-c X`` then 404s)."""

from __future__ import annotations

from kuaidi.doctor.context import Context
from kuaidi.doctor.model import Finding, check
from kuaidi.doctor.pip import is_origin

NIGHTLY = ("pytorch-nightly", "pytorch-nightly-cpu", "ignite-nightly")


@check("conda.nightly", "error", "no nightly channel is mapped to a mirror")
def check_nightly(ctx: Context) -> list[Finding]:
    findings = []
    for path, data in ctx.condarc_files:
        custom = data.get("custom_channels")
        hits = []
        if isinstance(custom, dict):
            hits += [
                (
                    f"custom_channels.{k}: {v}",
                    f"conda config --file {path} --remove-key custom_channels.{k}",
                )
                for k, v in custom.items()
                if k in NIGHTLY and isinstance(v, str) and not is_origin(v)
            ]
        for channel in data.get("channels") or []:
            if (
                isinstance(channel, str)
                and "://" in channel
                and channel.rstrip("/").rsplit("/", 1)[-1] in NIGHTLY
                and not is_origin(channel)
            ):
                hits.append(
                    (
                        f"channels: {channel}",
                        f"conda config --file {path} --remove channels {channel}",
                    )
                )
        for evidence, fix in hits:
            findings.append(
                Finding(
                    "conda.nightly",
                    "error",
                    "a nightly channel points at a mirror: CN mirrors do not sync pytorch-nightly, "
                    "so installs resolve to a stale or missing build",
                    (f"{path}: {evidence}",),
                    f"{fix}; install nightlies from the official channel "
                    "(-c pytorch-nightly, through turbo_on if needed)",
                )
            )
    return findings


@check("conda.channel_alias", "warning", "channel_alias is not a mirror")
def check_alias(ctx: Context) -> list[Finding]:
    found = ctx.conda_setting("channel_alias")
    if found is None or not isinstance(found.value, str) or is_origin(found.value):
        return []
    return [
        Finding(
            "conda.channel_alias",
            "warning",
            "channel_alias points at a mirror: every `-c X` the mirror does not carry 404s",
            (f"channel_alias: {found.value} (from {found.source})",),
            f"conda config --file {found.source} --remove-key channel_alias; map the channels you "
            "need under custom_channels (kuaidi setup --only conda)",
        )
    ]
