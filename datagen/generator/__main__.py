"""python -m datagen.generator SPEC --chunks first:4 --out DIR [--seed N] [--format csv]
    [--workers 2]

SPEC is a .yaml/.json file or the name of a bundled spec (fakedb, querygen). Prints one line
per chunk (rows, checksum) and the dataset checksum. `--chunks all` makes every chunk;
`--list` prints the chunk ids and stops; `--check` only validates the spec.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .chunking import select_chunks
from .errors import SpecError
from .run import run_chunks, summarize
from .spec import Spec, bundled_spec_names, load_bundled_spec, load_spec
from .writers import FORMATS


def parse_chunks(text: str, spec: Spec) -> list[int]:
    """The same selections as `manage.py datagen run --chunks`: 'all', 'first:N' (sky chunk ids
    are sparse: fakedb's first four are 0, 170, 171, 172), '0-63,70' (a range takes the chunks
    inside it)."""
    return select_chunks(spec.chunker, text)


def _load(name: str) -> Spec:
    # A file by its suffix, or any existing file; a folder named like a bundled spec is not one.
    if Path(name).is_file() or name.endswith((".yaml", ".yml", ".json")):
        return load_spec(name)
    return load_bundled_spec(name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datagen.generator", description=__doc__)
    parser.add_argument("spec", help=f"spec file, or a bundled spec: {bundled_spec_names()}")
    parser.add_argument("--chunks", default="0", help="all, first:N, or ids: 0-63,70 (default 0)")
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--format", choices=FORMATS, default="parquet")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--list", action="store_true", help="print the chunk ids and stop")
    parser.add_argument("--check", action="store_true", help="validate the spec and stop")
    args = parser.parse_args(argv)
    try:
        spec = _load(args.spec)
        if args.check:
            print(f"{spec.name}: ok, {len(spec.tables)} tables, {len(spec.chunk_ids())} chunks")
            return 0
        if args.list:
            print("\n".join(str(c) for c in spec.chunk_ids()))
            return 0
        if args.out is None:
            parser.error("--out is required to generate")
        if args.seed < 0:
            parser.error("--seed must be >= 0")
        chunks = parse_chunks(args.chunks, spec)
    except (SpecError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = []
    for result in run_chunks(spec, chunks, args.seed, args.out, args.format, workers=args.workers):
        results.append(result)
        rows = " ".join(f"{t}={n}" for t, n in result.rows.items())
        print(f"chunk {result.chunk_id}: {rows} {result.checksum}", flush=True)
    totals, checksum = summarize(results)
    print(f"dataset {spec.name} seed {args.seed}: {len(results)} chunks, rows {totals}")
    print(f"dataset checksum {checksum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
