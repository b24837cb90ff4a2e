"""Layered attribute tables answer as the plain dict they replace; their shapes are shared."""

from __future__ import annotations

import pytest
from asyncua import ua

from opcua_server.fastpath.shapes import LayeredAttributes, layered, shape_of

VALUE, NAME, ACCESS, NODE_CLASS = (
    ua.AttributeIds.Value,
    ua.AttributeIds.BrowseName,
    ua.AttributeIds.AccessLevel,
    ua.AttributeIds.NodeClass,
)


class Shared:
    """Stands for an attribute value many nodes share."""


SHARED_NAME, SHARED_ACCESS, OWN_VALUE = Shared(), Shared(), object()


def table() -> tuple[dict[object, object], LayeredAttributes]:
    plain: dict[object, object] = {NAME: SHARED_NAME, ACCESS: SHARED_ACCESS, VALUE: OWN_VALUE}
    return plain, layered(dict(plain), Shared)


def test_a_layered_table_answers_every_lookup_as_the_plain_dict() -> None:
    plain, layers = table()
    for key in (VALUE, NAME, ACCESS, NODE_CLASS, int(VALUE)):
        assert (key in layers) == (key in plain)
        assert layers.get(key) is plain.get(key)
        assert layers.get(key, "default") is plain.get(key, "default")
    assert layers[VALUE] is OWN_VALUE
    assert layers[NAME] is SHARED_NAME
    assert dict(layers.items()) == plain
    assert set(layers) == set(plain)
    assert len(layers) == 3
    assert layers == plain


def test_setting_an_entry_sets_the_nodes_own_and_leaves_the_shape() -> None:
    _, layers = table()
    _, other = table()
    assert layers.shape is other.shape
    mine = object()
    layers[ACCESS] = mine
    layers[VALUE] = "written"
    assert layers[ACCESS] is mine
    assert layers.get(VALUE) == "written"
    assert other[ACCESS] is SHARED_ACCESS
    assert other[VALUE] is OWN_VALUE
    assert layers.shape[ACCESS] is SHARED_ACCESS


def test_a_missing_attribute_is_a_key_error_as_in_a_dict() -> None:
    _, layers = table()
    with pytest.raises(KeyError):
        layers[NODE_CLASS]


def test_equal_entries_make_one_shape_and_other_ones_another() -> None:
    first = shape_of((NAME, ACCESS), (SHARED_NAME, SHARED_ACCESS))
    assert shape_of((NAME, ACCESS), (SHARED_NAME, SHARED_ACCESS)) is first
    assert shape_of((NAME, ACCESS), (SHARED_NAME, Shared())) is not first
    assert shape_of((NAME,), (SHARED_NAME,)) is not first
    assert shape_of((NAME, NODE_CLASS), (SHARED_NAME, SHARED_ACCESS)) is not first
