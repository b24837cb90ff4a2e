"""A node's attribute table as its own entries over a shape that many nodes share."""

# Part of the shared_attribute_values patch (opcua_server.fastpath.sharing). Once a node's
# attributes other than Value are shared AttributeValues, a variable's 15-entry dict (~650
# bytes) mostly repeats what every variable of the same tag on every machine holds. A
# `LayeredAttributes` keeps only the node's own entries (its Value in a slot, and any attribute
# it was given its own copy of) and finds the rest in a shape: one dict, never changed, per
# distinct set of shared entries. It answers every dict operation asyncua uses (`in`, `[]`,
# `get`, `[]=`, iteration, items) as the full dict would; setting an entry always sets the
# node's own. A variable's table: ~650 -> ~80 bytes.

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from asyncua import ua

_MISSING: Any = object()
_VALUE = ua.AttributeIds.Value
_dict_get = dict.get
_dict_contains = dict.__contains__

_SHAPES: dict[int, list[dict[Any, Any]]] = {}


class LayeredAttributes(dict[Any, Any]):
    """A node's own attributes, over the shape it shares with nodes alike (never changed).

    The Value attribute, which nearly every variable owns, sits in a slot rather than in the
    dict's own table; other own attributes are the dict's entries."""

    __slots__ = ("shape", "value")

    def __init__(self, own: Mapping[Any, Any], shape: Mapping[Any, Any]) -> None:
        super().__init__()
        self.shape = shape
        self.value = _MISSING
        for key, held in own.items():
            self[key] = held

    def __setitem__(self, key: Any, held: Any) -> None:
        if key == _VALUE:
            self.value = held
        else:
            dict.__setitem__(self, key, held)

    def __delitem__(self, key: Any) -> None:
        if key == _VALUE and self.value is not _MISSING:
            self.value = _MISSING
        else:
            dict.__delitem__(self, key)

    def __missing__(self, key: Any) -> Any:
        if key == _VALUE and self.value is not _MISSING:
            return self.value
        return self.shape[key]

    def get(self, key: Any, default: Any = None) -> Any:
        if key == _VALUE and self.value is not _MISSING:
            return self.value
        found = _dict_get(self, key, _MISSING)
        return self.shape.get(key, default) if found is _MISSING else found

    def __contains__(self, key: object) -> bool:
        if key == _VALUE and self.value is not _MISSING:
            return True
        return _dict_contains(self, key) or key in self.shape

    def merged(self) -> dict[Any, Any]:
        """A plain dict of every attribute: the shape's overlaid with the node's own."""
        everything = dict(self.shape)
        everything.update(dict.items(self))
        if self.value is not _MISSING:
            everything[_VALUE] = self.value
        return everything

    def __iter__(self) -> Iterator[Any]:
        return iter(self.merged())

    def __len__(self) -> int:
        return len(self.merged())

    def keys(self) -> Any:
        return self.merged().keys()

    def values(self) -> Any:
        return self.merged().values()

    def items(self) -> Any:
        return self.merged().items()

    def copy(self) -> dict[Any, Any]:
        return self.merged()

    def __repr__(self) -> str:
        return repr(self.merged())

    def __eq__(self, other: object) -> bool:
        return self.merged() == (other.merged() if isinstance(other, LayeredAttributes) else other)

    __hash__ = None  # unhashable, as a dict


def shape_of(names: tuple[Any, ...], values: tuple[Any, ...]) -> Mapping[Any, Any]:
    """The one shape mapping ``names`` to exactly the objects ``values`` (in that order)."""
    key = hash((names, tuple(map(id, values))))
    candidates = _SHAPES.get(key)
    if candidates is None:
        candidates = _SHAPES[key] = []
    for shape in candidates:  # tuples compare their items by identity first: exact here
        if tuple(shape) == names and tuple(shape.values()) == values:
            return shape
    shape = dict(zip(names, values, strict=True))  # never changed: changes go to a node's own
    candidates.append(shape)
    return shape


def layered(attributes: dict[Any, Any], shared_type: type) -> LayeredAttributes:
    """``attributes`` as its own entries over a shape of those of ``shared_type``."""
    own: dict[Any, Any] = {}
    names: list[Any] = []
    values: list[Any] = []
    for name, held in attributes.items():
        if type(held) is shared_type:
            names.append(name)
            values.append(held)
        else:
            own[name] = held
    return LayeredAttributes(own, shape_of(tuple(names), tuple(values)))
