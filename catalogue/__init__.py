"""The bundled catalogue, installed as package data (see pyproject.toml)."""
