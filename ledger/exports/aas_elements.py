"""Small builders of BaSyx submodel elements, so each submodel reads as its template does."""

from __future__ import annotations

from collections.abc import Iterable

from basyx.aas import model
from basyx.aas.model import datatypes

LANGUAGE = "en"


def global_reference(iri: str) -> model.ExternalReference:
    """A reference to a concept outside the package (a template, an ECLASS or IEC CDD IRDI)."""
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, iri),))


def _semantic(iri: str | None) -> model.ExternalReference | None:
    return global_reference(iri) if iri else None


def text(id_short: str, value: str, semantic: str | None = None) -> model.Property:
    """A string property."""
    return model.Property(
        id_short,
        value_type=datatypes.String,
        value=value,
        semantic_id=_semantic(semantic),
    )


def number(id_short: str, value: float, semantic: str | None = None) -> model.Property:
    """A floating-point property."""
    return model.Property(
        id_short,
        value_type=datatypes.Double,
        value=value,
        semantic_id=_semantic(semantic),
    )


def integer(id_short: str, value: int, semantic: str | None = None) -> model.Property:
    """An integer property."""
    return model.Property(
        id_short,
        value_type=datatypes.Integer,
        value=value,
        semantic_id=_semantic(semantic),
    )


def localized(
    id_short: str, value: str, semantic: str | None = None
) -> model.MultiLanguageProperty:
    """A multi-language property, in English."""
    return model.MultiLanguageProperty(
        id_short,
        value=model.MultiLanguageTextType({LANGUAGE: value}),
        semantic_id=_semantic(semantic),
    )


def collection(
    id_short: str | None, elements: Iterable[model.SubmodelElement], semantic: str | None = None
) -> model.SubmodelElementCollection:
    """A collection of elements."""
    return model.SubmodelElementCollection(
        id_short,
        value=list(elements),
        semantic_id=_semantic(semantic),
    )


def ordered_list(
    id_short: str, items: Iterable[model.SubmodelElementCollection], semantic: str | None = None
) -> model.SubmodelElementList[model.SubmodelElementCollection]:
    """A list of collections (whose items carry no idShort, as the metamodel requires)."""
    return model.SubmodelElementList(
        id_short,
        type_value_list_element=model.SubmodelElementCollection,
        value=list(items),
        semantic_id=_semantic(semantic),
    )


def file(id_short: str, path: str, content_type: str) -> model.File:
    """A file element pointing at a supplementary file of the package."""
    return model.File(id_short, content_type=content_type, value=path)


def submodel(
    identifier: str, id_short: str, semantic: str, elements: Iterable[model.SubmodelElement]
) -> model.Submodel:
    """An instance submodel following the template ``semantic``."""
    return model.Submodel(
        identifier,
        id_short=id_short,
        kind=model.ModellingKind.INSTANCE,
        semantic_id=global_reference(semantic),
        submodel_element=list(elements),
    )
