"""SSSOM/TSV mapping sets: read and write them losslessly, check them against the SSSOM
specification, and turn them into the catalogue's model objects.

A mapping set file is a YAML metadata block in `#` lines followed by a TSV table
(embedded mode), or a bare TSV table with its metadata in a `.sssom.yml` file beside it
(external mode). `read_sssom` keeps everything: metadata keys in file order (unknown and
extension keys too), every column in file order (extension columns too) and every cell
as text, so `write_sssom(read_sssom(x))` gives the same set back. Cells stay as their
TSV text (a multivalued cell is still `a|b`; `split_values` reads it), which keeps the
round trip exact and the reader fast.

The catalogue stores a set as `mappings/<set>.sssom.tsv`; how a mapping's values are
computed lives beside it in `mappings/<set>.transform.yaml`, keyed by record_id, so SSSOM
tools still read the TSV unchanged.
"""

from regcat.sssom.catalogue import (  # noqa: F401  (the package's API)
    _KIND_FIELDS,
    _MAPPING_FIELDS,
    _SET_FIELDS,
    _SET_NAME,
    CANDIDATE_PREFIX,
    MappingChanges,
    MappingFileResult,
    SssomImport,
    _check_transformation,
    _convert,
    _describe,
    _is_catalogue_end,
    _item_lines,
    _keyed,
    _load_transformations,
    _mapping_data,
    _set_data,
    _unrepresentable,
    catalogue_prefixes,
    check_mapping_set,
    diff_tables,
    export_sssom,
    file_digest,
    import_sssom,
    load_mapping_file,
    mapping_digest,
    mapping_set_files,
    set_name_for,
    to_mapping_set,
    transform_path_for,
)
from regcat.sssom.check import (  # noqa: F401  (the package's API)
    Problem,
    _Checker,
    _date_problem,
    check_sssom,
    raise_first,
    read_sssom_file,
)
from regcat.sssom.table import (  # noqa: F401  (the package's API)
    _NEEDS_QUOTES,
    SssomTable,
    _as_list,
    _check_required_columns,
    _key_lines,
    _MetaDumper,
    _parse_meta,
    _read_body,
    _represent_str,
    _scalar_text,
    _strip_hashes,
    _tsv_line,
    dump_metadata,
    join_values,
    metadata_path_for,
    read_sssom,
    split_values,
    write_sssom,
)
from regcat.sssom.vocab import (  # noqa: F401  (the package's API)
    _DATE,
    _LINKML,
    _PREFIX,
    _SCHEME,
    _TYPED_SLOTS,
    _XSD,
    BUILTIN_PREFIXES,
    CATALOGUE_IRI_BASE,
    CATALOGUE_JUSTIFICATIONS,
    CATALOGUE_PREDICATES,
    DATE_SLOTS,
    ENTITY_SLOTS,
    ENTITY_TYPES,
    ENUMS,
    JUSTIFICATIONS,
    LITERAL,
    MAPPING_SET_SLOTS,
    MAPPING_SLOTS,
    MULTIVALUED,
    NO_TERM_FOUND,
    PROPAGATABLE,
    RANGES,
    REQUIRED_COLUMNS,
    SSSOM_VERSIONS,
    TRANSFORM_SUFFIX,
    TSV_SUFFIX,
    URI_SLOTS,
    YML_SUFFIX,
    _words,
)
