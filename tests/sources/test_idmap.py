"""The HF → ModelScope id table: built-in rules, user overrides, opt-outs, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kuaidi.errors import KuaidiError
from kuaidi.sources import idmap
from kuaidi.sources.idmap import IdMap, builtin, candidates


@pytest.mark.parametrize(
    ("hf_id", "first"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "LLM-Research/Llama-3.1-8B-Instruct"),
        ("meta-llama/Llama-2-7b-hf", "modelscope/Llama-2-7b-ms"),
        ("meta-llama/Llama-2-13b-chat-hf", "modelscope/Llama-2-13b-chat-ms"),
        ("THUDM/glm-4-9b-chat", "ZhipuAI/glm-4-9b-chat"),
        ("zai-org/GLM-4.5", "ZhipuAI/GLM-4.5"),
        ("google/gemma-2-9b-it", "LLM-Research/gemma-2-9b-it"),
        ("google/gemma-3-4b-it", "LLM-Research/gemma-3-4b-it"),
        ("google/gemma-7b", "AI-ModelScope/gemma-7b"),
        ("google/paligemma-3b-pt-224", "AI-ModelScope/paligemma-3b-pt-224"),
        ("microsoft/Phi-3-mini-4k-instruct", "LLM-Research/Phi-3-mini-4k-instruct"),
        ("microsoft/phi-4", "LLM-Research/phi-4"),
        ("01-ai/Yi-1.5-9B", "01ai/Yi-1.5-9B"),
        ("internlm/internlm2_5-7b-chat", "Shanghai_AI_Laboratory/internlm2_5-7b-chat"),
        ("openbmb/MiniCPM-V-2_6", "OpenBMB/MiniCPM-V-2_6"),
        ("tencent/Hunyuan-7B-Instruct", "Tencent-Hunyuan/Hunyuan-7B-Instruct"),
        ("Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct"),
        ("deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1"),
        ("someone/unknown-model", "someone/unknown-model"),
    ],
)
def test_builtin_table(hf_id: str, first: str) -> None:
    found = candidates(hf_id, user_file=None)
    assert found[0] == first
    assert found[-1] == hf_id  # the same id is always the last try
    assert len(found) == len(set(found))


def test_same_org_has_one_candidate() -> None:
    assert candidates("Qwen/Qwen3-8B", user_file=None) == ["Qwen/Qwen3-8B"]


def test_explain_says_why() -> None:
    why = dict(builtin().explain("meta-llama/Llama-2-7b-hf"))
    assert "Llama-2-*-hf" in why["modelscope/Llama-2-7b-ms"]
    assert why["LLM-Research/Llama-2-7b-hf"] == "org meta-llama → LLM-Research"


def test_user_file_goes_first_and_can_opt_out(tmp_path: Path) -> None:
    user = tmp_path / "idmap.toml"
    user.write_text(
        '[org]\nmeta-llama = ["my-mirror-org"]\n'
        '[[repo]]\nhf = "acme/*-gguf"\nms = ["acme-cn/{1}-GGUF", "{org}/{name}"]\n'
        '[[repo]]\nhf = "secret/*"\nms = []\n'
    )
    assert candidates("meta-llama/X", user_file=user)[0] == "my-mirror-org/X"
    assert candidates("acme/tiny-gguf", user_file=user) == ["acme-cn/tiny-GGUF", "acme/tiny-gguf"]
    assert candidates("secret/model", user_file=user) == []
    # the built-in rules still apply behind the user's
    assert candidates("google/gemma-7b", user_file=user)[0] == "AI-ModelScope/gemma-7b"


def test_env_var_names_the_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "map.toml"
    user.write_text('[org]\nfoo = ["bar"]\n')
    monkeypatch.setenv("KUAIDI_IDMAP", str(user))
    assert idmap.user_file_path() == user
    assert candidates("foo/x") == ["bar/x", "foo/x"]
    monkeypatch.setenv("KUAIDI_IDMAP", str(tmp_path / "absent.toml"))
    assert candidates("foo/x") == ["foo/x"]


@pytest.mark.parametrize(
    "text",
    [
        "[org\n",
        '[[repo]]\nhf = "no-slash"\nms = ["a/b"]\n',
        '[[repo]]\nhf = "a/*"\nms = ["no-slash"]\n',
        '[org]\nfoo = ["a/b"]\n',
        "[org]\nfoo = 3\n",
    ],
)
def test_bad_user_file_names_the_file(tmp_path: Path, text: str) -> None:
    user = tmp_path / "idmap.toml"
    user.write_text(text)
    with pytest.raises(KuaidiError) as info:
        candidates("foo/x", user_file=user)
    assert str(user) in info.value.message and info.value.fix


def test_bad_template_and_bad_id() -> None:
    table = IdMap.parse('[[repo]]\nhf = "a/*"\nms = ["b/{2}"]\n', "t.toml")
    with pytest.raises(KuaidiError, match="bad template"):
        table.candidates("a/x")
    with pytest.raises(KuaidiError, match="not a repo id"):
        table.candidates("no-slash")
