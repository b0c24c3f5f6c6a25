"""``kuaidi bundle``: wheels and weights in one self-describing bundle, for a box with no network.

from kuaidi.bundle.create import create
from kuaidi.bundle.install import install, verify
"""
