"""doctor's git checks on a fake AutoDL box: a global http.proxy, the GitHub scope missing or
stale, GitHub through a third-party proxy (token redacted), a dead insteadOf target."""

from __future__ import annotations

import socket

from kuaidi.doctor import fix, run
from tests.doctor.conftest import autodl  # noqa: F401  (fixture)

TURBO = "http://172.31.1.128:12798"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_global_http_proxy_is_named_with_its_fix(autodl):  # noqa: F811
    autodl.write("~/.gitconfig", "[http]\n\tproxy = http://u:secret@1.2.3.4:7890\n")
    (f,) = autodl.findings("git.global_proxy")
    assert "every host" in f.message and "git config --global --unset http.proxy" in f.fix
    assert "secret" not in repr(f) and "1.2.3.4:7890" in f.evidence[0]


def test_github_scope_missing_then_fixed_by_setup_then_stale(autodl):  # noqa: F811
    (f,) = autodl.findings("git.github_scope")
    assert "(unset)" in f.evidence[0] and f.auto_fix is not None
    assert f.fix == "kuaidi setup --only git"
    result = fix(autodl.context(), run(autodl.context(), only=["git.github_scope"]))
    assert (autodl.home / ".gitconfig").is_file() and result is not None
    assert autodl.findings("git.github_scope") == []
    autodl.write("~/.gitconfig", '[http "https://github.com/"]\n\tproxy = http://10.0.0.1:1\n')
    (stale,) = autodl.findings("git.github_scope")  # migrated: the turbo IP changed
    assert "http://10.0.0.1:1" in stale.evidence[0] and TURBO in stale.evidence[1]


def test_third_party_proxy_with_a_token_is_flagged_and_the_token_never_printed(autodl):  # noqa: F811
    autodl.write(
        "~/.gitconfig",
        f'[url "https://{TOKEN}@mirror.ghproxy.com/https://github.com/"]\n'
        "\tinsteadOf = https://github.com/\n"
        '[url "https://gitee.com/mirrors/"]\n\tinsteadOf = https://example.org/\n',
    )
    (f,) = autodl.findings("git.third_party")
    assert "mirror.ghproxy.com" in f.message and "token" in f.message
    assert "revoke" in f.fix
    assert TOKEN not in repr(f) and TOKEN[:12] not in " ".join(f.evidence)


def test_a_dead_insteadof_target_is_found_in_bounded_time(autodl):  # noqa: F811
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    autodl.write(
        "~/.gitconfig",
        f'[url "http://127.0.0.1:{port}/gh/"]\n\tinsteadOf = https://github.com/\n',
    )
    (f,) = autodl.findings("git.insteadof_dead", offline=False)
    assert "does not answer" in f.message and "--remove-section" in f.fix
    assert autodl.findings("git.insteadof_dead", offline=True) == []  # live: skipped offline
