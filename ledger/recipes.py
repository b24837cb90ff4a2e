"""What a dossier's recipe plans for the printer: the layer count a job is dispatched with."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ledger.errors import DesignError
from models import DesignDossier, FileRole

LAYERS_KEY = "layers"
HEIGHT_KEY = "build_height_mm"
LAYER_KEY = "layer_um"


def planned_layers(folder: Path, dossier: DesignDossier) -> int:
    """The layers a job of ``dossier`` prints, from its JSON recipe in ``folder``: ``layers``,
    or ``build_height_mm`` divided by ``layer_um`` (rounded up).

    DesignError, naming the recipe, when no recipe states either.
    """
    recipes = [f.path for f in dossier.files if f.role is FileRole.RECIPE]
    for path in recipes:
        layers = _layers_of(_read_recipe(folder / path))
        if layers is not None:
            return layers
    raise DesignError(
        f"the recipe of design {dossier.id} revision {dossier.revision} ({', '.join(recipes)}) "
        "states no layer count",
        advice=f'state "{LAYERS_KEY}" (or "{HEIGHT_KEY}" and "{LAYER_KEY}") in the JSON recipe '
        "and register the design as a new revision",
    )


def _read_recipe(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a recipe in another format plans nothing trustfloor reads


def _layers_of(recipe: Any) -> int | None:
    if not isinstance(recipe, dict):
        return None
    layers = _positive(recipe.get(LAYERS_KEY))
    if layers is not None and layers >= 1:
        return int(layers)
    height, layer = _positive(recipe.get(HEIGHT_KEY)), _positive(recipe.get(LAYER_KEY))
    if height is not None and layer is not None:
        return max(1, math.ceil(height * 1000.0 / layer - 1e-9))
    return None


def _positive(value: object) -> float | None:
    """``value`` as a float when it is a finite positive number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value > 0 else None
