"""Deterministic demo deliveries of the region's partners, in their real published formats.

``generate_demo(out_dir, registry)`` writes the inbox drops (``inbox/<partner>/``) and the
files the fake partner servers publish (``remote/<partner>/``); see ``generate``.
"""

from territoire_hub.sources.demo.deliveries import GeneratedFile, Scale, write_manifest
from territoire_hub.sources.demo.generate import generate_demo

__all__ = ["GeneratedFile", "Scale", "generate_demo", "write_manifest"]
