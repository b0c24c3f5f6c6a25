"""The cache's whole life: ``rm``, ``prune``, ``move``, ``verify --repair``.

Built on huggingface_hub's ``scan_cache_dir`` where it does the job (which revisions exist, which
blobs a revision keeps alive: ``rm`` and ``prune`` use its ``delete_revisions`` plan, so kuaidi and
``hf cache`` agree on what is safe to delete). Verification walks the snapshots itself, because
hub's scan drops a whole repo with a dangling link — exactly the repo ``--repair`` must fix.

Every verb first computes a :class:`~kuaidi.cache.scan.Removal` (or move plan) and then carries it
out, so ``--dry-run`` prints exactly what the real run does.
"""

from kuaidi.cache.scan import Removal, Victim

__all__ = ["Removal", "Victim"]
