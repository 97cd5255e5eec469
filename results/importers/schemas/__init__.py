"""Data files (JSON Schemas) of the importers; a package so that they are installed."""
