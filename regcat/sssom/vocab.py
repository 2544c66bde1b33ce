"""The SSSOM vocabulary regcat checks against (from the SSSOM LinkML schema 1.1)."""

from __future__ import annotations

import csv
import re

from regcat.generated.model import (
    MappingJustification,
    MappingPredicate,
)

csv.field_size_limit(1 << 30)  # long comments are fine; the default stops at 128 KiB

TSV_SUFFIX = ".sssom.tsv"
YML_SUFFIX = ".sssom.yml"
TRANSFORM_SUFFIX = ".transform.yaml"


# --- the SSSOM vocabulary (from the SSSOM LinkML schema, version 1.1) --------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BUILTIN_PREFIXES: dict[str, str] = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "semapv": "https://w3id.org/semapv/vocab/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "sssom": "https://w3id.org/sssom/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "linkml": "https://w3id.org/linkml/",
}

MAPPING_SLOTS = _words(
    "record_id subject_id subject_label subject_category predicate_id predicate_label "
    "predicate_modifier object_id object_label object_category mapping_justification "
    "author_id author_label reviewer_id reviewer_label creator_id creator_label license "
    "subject_type subject_source subject_source_version object_type object_source "
    "object_source_version predicate_type mapping_provider mapping_source "
    "mapping_cardinality cardinality_scope mapping_tool mapping_tool_id "
    "mapping_tool_version mapping_date publication_date review_date confidence "
    "reviewer_agreement curation_rule curation_rule_text subject_match_field "
    "object_match_field match_string subject_preprocessing object_preprocessing "
    "similarity_score similarity_measure see_also issue_tracker_item other comment"
)

MAPPING_SET_SLOTS = _words(
    "sssom_version curie_map mapping_set_id mapping_set_version mapping_set_source "
    "mapping_set_title mapping_set_description mapping_set_confidence creator_id "
    "creator_label license subject_type subject_source subject_source_version object_type "
    "object_source object_source_version predicate_type mapping_provider cardinality_scope "
    "mapping_tool mapping_tool_id mapping_tool_version mapping_date publication_date "
    "subject_match_field object_match_field subject_preprocessing object_preprocessing "
    "similarity_measure curation_rule curation_rule_text see_also issue_tracker other "
    "comment extension_definitions"
)

# Set-level values that apply to every mapping (`propagated: true` in the schema).
PROPAGATABLE = frozenset(
    _words(
        "curation_rule curation_rule_text cardinality_scope mapping_date mapping_provider "
        "mapping_tool mapping_tool_id mapping_tool_version object_match_field "
        "object_preprocessing object_source object_source_version object_type "
        "subject_match_field subject_preprocessing subject_source subject_source_version "
        "subject_type predicate_type similarity_measure"
    )
)

MULTIVALUED = frozenset(
    _words(
        "author_id author_label reviewer_id reviewer_label creator_id creator_label "
        "cardinality_scope curation_rule curation_rule_text subject_match_field "
        "object_match_field match_string subject_preprocessing object_preprocessing see_also "
        "mapping_set_source"
    )
)

# Slots whose values are identifiers (EntityReference): CURIEs in SSSOM/TSV.
ENTITY_SLOTS = frozenset(
    _words(
        "record_id subject_id predicate_id object_id mapping_justification author_id "
        "reviewer_id creator_id subject_source object_source mapping_source mapping_tool_id "
        "subject_match_field object_match_field subject_preprocessing object_preprocessing "
        "curation_rule issue_tracker_item"
    )
)
URI_SLOTS = frozenset(
    _words("mapping_set_id license mapping_provider issue_tracker see_also mapping_set_source")
)
DATE_SLOTS = frozenset({"mapping_date", "publication_date", "review_date"})
RANGES = {
    "confidence": (0.0, 1.0),
    "similarity_score": (0.0, 1.0),
    "mapping_set_confidence": (0.0, 1.0),
    "reviewer_agreement": (-1.0, 1.0),
}
ENTITY_TYPES = frozenset(
    {
        "owl class",
        "owl object property",
        "owl data property",
        "owl annotation property",
        "owl named individual",
        "skos concept",
        "rdfs resource",
        "rdfs class",
        "rdfs literal",
        "rdfs datatype",
        "rdf property",
        "composed entity expression",
    }
)
ENUMS: dict[str, frozenset[str]] = {
    "subject_type": ENTITY_TYPES,
    "object_type": ENTITY_TYPES,
    "predicate_type": ENTITY_TYPES - {"rdfs literal", "composed entity expression"},
    "predicate_modifier": frozenset({"Not"}),
    "mapping_cardinality": frozenset({"1:1", "1:n", "n:1", "n:n", "1:0", "0:1", "0:0"}),
}
JUSTIFICATIONS = frozenset(
    "semapv:" + name
    for name in _words(
        "MappingReview ManualMappingCuration LogicalReasoning LexicalMatching "
        "CompositeMatching UnspecifiedMatching SemanticSimilarityThresholdMatching "
        "LexicalSimilarityThresholdMatching MappingChaining MappingInversion "
        "StructuralMatching InstanceBasedMatching BackgroundKnowledgeBasedMatching"
    )
)
_TYPED_SLOTS = ENTITY_SLOTS | frozenset(RANGES) | DATE_SLOTS | frozenset(ENUMS) | URI_SLOTS
SSSOM_VERSIONS = frozenset({"1.0", "1.1"})
REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")
NO_TERM_FOUND = "sssom:NoTermFound"
LITERAL = "rdfs literal"

# What the catalogue's model can hold (other valid SSSOM values are kept in the file).
CATALOGUE_PREDICATES = frozenset(p.value for p in MappingPredicate)
CATALOGUE_JUSTIFICATIONS = frozenset(j.value for j in MappingJustification)
# IRIs under this base name catalogue content (e.g. a declared register prefix).
CATALOGUE_IRI_BASE = "https://w3id.org/regcat/"

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_LINKML = "https://w3id.org/linkml/"
