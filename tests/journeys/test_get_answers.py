"""Journeys: the hub's definite answers, each one line with its own fix, nothing left behind.

A wrong token, a typo'd revision, a gated repo without a token, a pattern that matches nothing,
two different revisions in one command.
"""

from __future__ import annotations

from pathlib import Path

from kuaidi.sim import Sim
from tests.journeys.conftest import GATED, TINY, base_env, partials, run_kuaidi


def _one_error(out_stderr: list[str]) -> str:
    assert len(out_stderr) == 1, out_stderr
    assert out_stderr[0].startswith("kuaidi: error: ")
    return out_stderr[0]


def test_wrong_token_is_token_rejected_not_not_found(sim: Sim, home: Path) -> None:
    env = {**base_env(home, sim), "HF_TOKEN": "hf_expiredOrTypoedToken0000000000000"}
    out = run_kuaidi(["get", TINY], env)  # HF_ENDPOINT names the mirror: the token goes there
    assert out.rc == 2
    line = _one_error(out.err_lines)
    host = sim.url("hf-mirror").split("://", 1)[1]
    assert f"token rejected by {host}" in line and "not found" not in line
    assert "HF_TOKEN" in line and "hf auth login" in line
    assert "hf_expiredOrTypoed" not in out.stderr + out.stdout  # never printed
    assert sim.log("hf-cdn").requests("*") == []


def test_typo_revision_is_its_own_answer(sim: Sim, home: Path) -> None:
    env = base_env(home, sim)
    cache = home / ".cache" / "huggingface" / "hub"
    out = run_kuaidi(["get", TINY, "--revision", "mian"], env)
    assert out.rc == 2
    line = _one_error(out.err_lines)
    assert "revision 'mian' not found" in line and "ModelScope" not in line
    # following no advice, even opting in to ModelScope, does not fetch its master
    opted = run_kuaidi(["get", TINY, "--revision", "mian", "--allow-modelscope-only"], env)
    assert opted.rc == 2 and "revision 'mian' not found" in _one_error(opted.err_lines)
    file_gets = [e for e in sim.log("modelscope").entries if "FilePath" in e.query]
    assert file_gets == []  # no file bytes from ModelScope
    assert not list(cache.rglob("refs/mian"))  # no ref for a revision nothing resolved
    assert sim.log("hf-cdn").requests("*") == []
    # refs/pr/1 in an hf:// URL is one revision, not "refs"
    pr = run_kuaidi(["get", f"hf://{TINY}@refs/pr/1/config.json", "-q"], env)
    assert pr.rc == 0, pr.stderr
    assert (cache / "models--kuaidi-sim--tiny-model" / "refs" / "refs" / "pr" / "1").is_file()
    assert (Path(pr.stdout.strip()) / "config.json").is_file()


def test_revision_twice_is_a_usage_error(sim: Sim, home: Path) -> None:
    out = run_kuaidi(["get", f"hf://{TINY}@v1.0", "--revision", "main"], base_env(home, sim))
    assert out.rc == 2 and "two revisions" in _one_error(out.err_lines)
    assert len(sim.log("hf-mirror")) == 0


def test_gated_without_token_is_one_line_and_leaves_nothing(sim: Sim, home: Path) -> None:
    env = {**base_env(home, sim), "MODELSCOPE_ENDPOINT": "none"}
    out = run_kuaidi(["get", GATED, "--modelscope-endpoint", "none"], env)
    assert out.rc == 2
    line = _one_error(out.err_lines)
    assert "gated" in line and "HF_TOKEN" in line
    assert partials(home) == []
    assert sim.log("hf-cdn").requests("*") == []


def test_patterns_that_select_nothing_say_so(sim: Sim, home: Path) -> None:
    env = base_env(home, sim)
    none = run_kuaidi(["get", TINY, "--include", "*.safetensor"], env)
    assert none.rc == 2 and "'*.safetensor'" in _one_error(none.err_lines)
    # the second pattern became a file name: say how to write it
    two = run_kuaidi(["get", TINY, "--include", "*.json", "*.safetensors"], env)
    assert two.rc == 2
    line = _one_error(two.err_lines)
    assert "--include '*.json' --include '*.safetensors'" in line
    # a pattern matching nothing next to one that matches: a note, the download goes on
    some = run_kuaidi(["get", TINY, "--include", "*.json", "--include", "*.gguf", "-q"], env)
    assert some.rc == 0, some.stderr
    assert some.err_lines == ["kuaidi: note: --include '*.gguf' matched no file"]
    assert sim.log("hf-cdn").requests("*") == []  # only small json files
