"""Where bytes come from: HF-protocol mirrors, ModelScope, and the origin (through a proxy only).

Every source implements :class:`kuaidi.model.Source`: list a revision (a
:class:`~kuaidi.model.Listing` with the hashes that verify each file) and build the
:class:`~kuaidi.model.Route` that GETs one file.
"""
