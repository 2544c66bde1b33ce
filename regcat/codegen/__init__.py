"""Code generated from the catalogue: validators for register submissions."""
