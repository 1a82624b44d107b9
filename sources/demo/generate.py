"""Entry point: every partner's deliveries for the demo region, with their delivery waves."""

from __future__ import annotations

from pathlib import Path

from territoire_hub.sources.demo import energy, irve, lighting, lighting_maintenance, lighting_sensors, traffic, weather
from territoire_hub.sources.demo.climate import regional_weather
from territoire_hub.sources.demo.deliveries import Context, GeneratedFile, Scale, set_mtimes
from territoire_hub.sources.demo.mishaps import add_mishaps
from territoire_hub.sources.demo.region import load_region
from territoire_hub.registry import Registry


def generate_demo(out_dir: Path, registry: Registry, seed: int = 42, scale: Scale = Scale()) -> list[GeneratedFile]:
    """Write the demo deliveries under ``out_dir`` and return them, wave 1 first.

    Same ``seed`` and ``scale`` give byte-identical files. Inbox datasets go to
    ``out_dir/inbox/<partner>/<file>``, HTTP datasets to ``out_dir/remote/<partner>/<url path>``.
    File mtimes are the delivery times: wave-2 files (late or corrected) come after wave 1.
    """
    if scale.days < 1:
        raise ValueError("scale.days must be at least 1")
    out_dir = Path(out_dir)
    ctx = Context(out_dir, registry, seed, scale, load_region(registry, scale.communes))
    climate = regional_weather(ctx.rng("climate"), scale.start, scale.end)
    inventory = lighting.build_inventory(ctx)
    files: list[GeneratedFile] = []
    files += weather.generate(ctx, climate)
    files += energy.generate(ctx)
    files += traffic.generate(ctx, climate)
    files += lighting.generate(ctx, inventory)
    files += lighting_sensors.generate(ctx, inventory)
    files += lighting_maintenance.generate(ctx, inventory)
    files += irve.generate(ctx)
    files = add_mishaps(ctx, files)
    files.sort(key=lambda f: f.wave)  # stable: generation order inside a wave
    return set_mtimes(files)
