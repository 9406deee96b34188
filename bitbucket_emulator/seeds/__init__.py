"""Worlds to start from: the `demo` seed (demo.json, in the seed-file format, with its repositories' files from
demo_files.py), the `scale` seed (scale.py, sized by parameters) and seed documents or files (build.py)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..world.objects import WorldError
from ..world.state import World
from . import demo_files
from .build import build_world
from .datacenter import demo_datacenter_spec
from .scale import scale_world


def demo_spec() -> dict[str, Any]:
    """The `demo` seed document: demo.json, each repository given its files from demo_files.TREES."""
    spec = json.loads(resources.files(__package__).joinpath("demo.json").read_text(encoding="utf-8"))
    for repo in spec["repositories"]:
        repo["files"] = demo_files.TREES[f"{repo['workspace']}/{repo['slug']}"]
    return spec


def load_seed(seed: str | dict | None, **scale_params: int) -> World:
    """`demo` (also None), `scale` (with `scale_params`), `empty`, a seed document, or the path of a seed file."""
    if seed is None or seed == "demo":
        return build_world({**demo_spec(), "datacenter": demo_datacenter_spec()})
    if isinstance(seed, dict):
        return build_world(seed)
    if seed == "scale":
        return scale_world(**{k: v for k, v in scale_params.items() if v is not None})
    if seed == "empty":
        return World()
    with open(seed, encoding="utf-8") as fh:
        try:
            spec = json.load(fh)
        except ValueError as exc:
            raise ValueError(f"{seed}: not a JSON seed file ({exc})") from None
    try:
        return build_world(spec)
    except WorldError as exc:
        raise ValueError(f"{seed}: {exc.message}") from None
