"""Taking the catalogue into other ecosystems: FHIR R4 (Questionnaire, ValueSet,
CodeSystem, ConceptMap; and Questionnaire import), HealthDCAT-AP for the European
Health Data Space, with SHACL shapes for what it requires."""
