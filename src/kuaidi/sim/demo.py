"""What ``kuaidi demo`` injects into the sim and how it opens the result offline.

The demo (:mod:`kuaidi.cli.demo`) runs ``kuaidi get`` on the cn-link sim through a stall and a
reset on the weights, and a mirror whose copy of one small file is corrupt — so the route ladder
moves that file to ModelScope — then loads the model with huggingface_hub, offline.
"""

from __future__ import annotations

import json
from pathlib import Path

from kuaidi.sim.faults import FaultRule, corrupt, reset, stall

DEMO_REPO = "kuaidi-sim/demo-model"


def demo_faults() -> dict[str, list[FaultRule]]:
    """One stall (the client must time out) then one RST, both on the weights, once each; and
    the mirror's tokenizer.json corrupt every time (only another source can serve it). The
    offsets are small because the engine cuts a file this size into one piece per connection."""
    return {
        "hf-cdn": [
            stall(after="64KiB", path="model.safetensors", times=1),
            reset(after="128KiB", path="model.safetensors", times=1),
        ],
        "hf-mirror": [corrupt(offset=10, path="*/tokenizer.json")],
    }


def load_offline(repo_id: str, cache_dir: Path) -> str:
    """Open the model from the cache with the network off; describe what was loaded."""
    from huggingface_hub import snapshot_download

    snap = Path(snapshot_download(repo_id, cache_dir=cache_dir, local_files_only=True))
    config = json.loads((snap / "config.json").read_text())
    raw = (snap / "model.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    tensors = ", ".join(
        f"{k} {v['dtype']}{v['shape']}" for k, v in header.items() if k != "__metadata__"
    )
    return f"config.json ({len(config)} keys), model.safetensors: {tensors}"
