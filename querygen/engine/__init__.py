"""Assay's query-testing engine: random typed SQL from a profile, rendered per dialect, run on
a system under test and a reference, compared, reduced and grouped. Pure Python (sqlglot,
the database drivers); nothing here imports Django."""
