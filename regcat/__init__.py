"""regcat: a catalogue of Norwegian health-register variables, their codings and mappings."""

__version__ = "0.1.0"
