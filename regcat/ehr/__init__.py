"""Automated reporting from the EHR: EHR bindings of register variables to FHIR R4
(`bindings`, with the FHIRPath subset in `fhirpath`), prefill of a register form from a
FHIR Bundle or Bulk Data export through generated DuckDB SQL (`source`, `sql`,
`prefill`), and the coverage measure of how each form's data comes in (`coverage`)."""
