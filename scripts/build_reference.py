"""Build the bundled universe reference files; also the helpers ``build_sample.py`` shares.

Reads the offline market-data library (``../shared/data`` by default), keeps only files whose
licence allows redistribution, and writes deterministically (same input, same bytes) to
``src/harvester/data/reference/``: the S&P 500 constituents, the current Nasdaq-100 members
and the S&P 500 membership intervals as CSV, with a ``README.md`` giving provenance,
licences and the licence notices. ``scripts/build_sample.py`` runs this too.

Usage::

    python scripts/build_reference.py [--shared ../shared/data]
                                      [--reference-out src/harvester/data/reference]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harvester.core.paths import atomic_path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared" / "data"
DEFAULT_REFERENCE_OUT = ROOT / "src" / "harvester" / "data" / "reference"
ALLOWED_LICENCES = ("CC0", "public domain", "ODC-PDDL", "MIT", "BSD", "NCSA")
SOURCE_FILES = {
    "stocks": "equities_daily/sp500_all_stocks_5yr.csv.gz",
    "benchmark": "indices/arch_sp500_nasdaq_daily_1999_2018.csv",
    "vix": "vix/vix_daily_cboe.csv",
    "oil": "commodities/wti_daily_eia.csv",
    "sp500": "reference/sp500_constituents.csv",
    "nasdaq100": "reference/nasdaq100_membership.csv",
    "intervals": "reference/sp500_membership_intervals_1996.csv",
}


@dataclass(frozen=True, slots=True)
class Source:
    """One input file and what the data library's README says about it."""

    key: str
    path: str
    upstream: str
    licence: str


# -- sources and licences ----------------------------------------------------------------


def _table_row(readme: str, path: str) -> list[str]:
    for line in readme.splitlines():
        if line.startswith(f"| `{path}`"):
            return [cell.strip() for cell in line.split("|")[1:-1]]
    raise SystemExit(f"no row for {path} in the data README; is --shared the data library?")


def _check_licence(source: Source) -> None:
    text = source.licence.lower()
    allowed = any(name.lower() in text for name in ALLOWED_LICENCES)
    if not allowed or "none stated" in text:
        raise SystemExit(f"{source.path}: licence {source.licence!r} does not allow bundling")


def read_sources(shared: Path) -> dict[str, Source]:
    """Return every input file with its upstream and licence as the data README states them.

    Stops with a message when a file's licence does not allow redistribution.
    """
    readme = (shared / "README.md").read_text(encoding="utf-8")
    sources = {}
    for key, path in SOURCE_FILES.items():
        cells = _table_row(readme, path)
        source = Source(key=key, path=path, upstream=cells[5], licence=cells[6])
        _check_licence(source)
        sources[key] = source
    return sources


def source_table(sources: Sequence[Source]) -> list[str]:
    """Return a Markdown table of sources, upstreams and licences, one line per item."""
    lines = [
        "| data | file in the offline data library | upstream (repository/package @ commit) "
        "| licence as stated at source |",
        "|---|---|---|---|",
    ]
    lines += [f"| {s.key} | `{s.path}` | {s.upstream} | {s.licence} |" for s in sources]
    return lines


MIT_NOTICE = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def notice(title: str, copyright_line: str, text: str) -> list[str]:
    """Return a licence notice as Markdown lines: a heading, the copyright line, the text."""
    return [f"### {title}", "", copyright_line, "", text]


# -- writing -----------------------------------------------------------------------------------


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Encode ``frame`` as UTF-8 CSV with ``\\n`` line ends and no index."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_files(out: Path, files: dict[str, bytes]) -> None:
    """Write every file atomically (write, then rename) and print its name and size."""
    for name, data in files.items():
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data)
            tmp.chmod(0o644)
        print(f"wrote {out / name} ({len(data):,} bytes)")


# -- the reference files ---------------------------------------------------------------------


def read_constituents(shared: Path) -> pd.DataFrame:
    """Return the S&P 500 constituents as symbol, name, sector, sub_industry."""
    raw = pd.read_csv(shared / SOURCE_FILES["sp500"], dtype=str, keep_default_na=False)
    columns = {"Symbol": "symbol", "Security": "name", "GICS Sector": "sector"}
    frame = raw.rename(columns={**columns, "GICS Sub-Industry": "sub_industry"})
    frame = frame[["symbol", "name", "sector", "sub_industry"]]
    return frame.sort_values("symbol", kind="stable").reset_index(drop=True)


def nasdaq100_members(shared: Path, constituents: pd.DataFrame) -> pd.DataFrame:
    """Return current Nasdaq-100 members (no removal date), sector joined from the S&P list."""
    raw = pd.read_csv(shared / SOURCE_FILES["nasdaq100"], dtype=str, keep_default_na=False)
    current = raw[raw["removed_date"] == ""].rename(
        columns={"ticker": "symbol", "company_name": "name"}
    )
    sectors = constituents.set_index("symbol")["sector"]
    current = current.assign(sector=current["symbol"].map(sectors).fillna(""))
    frame = current[["symbol", "name", "sector"]]
    return frame.sort_values("symbol", kind="stable").reset_index(drop=True)


def membership_intervals(shared: Path) -> pd.DataFrame:
    """Return the S&P 500 membership intervals as symbol, start_date, end_date (exclusive)."""
    raw = pd.read_csv(shared / SOURCE_FILES["intervals"], dtype=str, keep_default_na=False)
    frame = raw.rename(columns={"ticker": "symbol"})[["symbol", "start_date", "end_date"]]
    return frame.sort_values(["symbol", "start_date"], kind="stable").reset_index(drop=True)


def reference_files(shared: Path, sources: dict[str, Source]) -> dict[str, bytes]:
    """Return the universe reference files and their README."""
    constituents = read_constituents(shared)
    frames = {
        "sp500_constituents.csv": constituents,
        "nasdaq100.csv": nasdaq100_members(shared, constituents),
        "sp500_membership_intervals.csv": membership_intervals(shared),
    }
    files = {name: csv_bytes(frame) for name, frame in frames.items()}
    counts = {name: len(frame) for name, frame in frames.items()}
    files["README.md"] = reference_readme(counts, sources).encode("utf-8")
    return files


REFERENCE_NOTES = """\
- `sp500_constituents.csv` (symbol, name, sector, sub_industry): the S&P 500 members of the
  snapshot with GICS sector and sub-industry. Symbols are spelt as in the source (`BRK.B`,
  `BF.B`; Yahoo spells them `BRK-B`, `BF-B`). Universe `sp500`.
- `nasdaq100.csv` (symbol, name, sector): members with no removal date in the membership
  file; the sector is joined from the S&P 500 list and is empty for members outside it
  (foreign listings such as ASML). Includes both Alphabet share classes. Universe `nasdaq100`.
- `sp500_membership_intervals.csv` (symbol, start_date, end_date): one row per membership
  spell since 1996-01-02. `end_date` is the first date the symbol was no longer a member
  (exclusive); empty means still a member in the snapshot. Ticker-based: a renamed ticker
  (FB to META) appears as two spells. Used by `members_on(date)` for survivorship-aware runs.
- All three are snapshots of hand- or Wikipedia-maintained lists, not S&P or Nasdaq data;
  membership before about 2001 may be incomplete.
"""


def reference_readme(counts: dict[str, int], sources: dict[str, Source]) -> str:
    """Return the provenance README of the universe reference files."""
    used = [sources[k] for k in ("sp500", "nasdaq100", "intervals")]
    lines = [
        "# Bundled universes: S&P 500 and Nasdaq-100 reference lists",
        "",
        "Written by `scripts/build_reference.py`; do not edit by hand, rebuild instead.",
        "Read them with `harvester.data.universes.load_universe` and `members_on`.",
        "",
        "| file | rows |",
        "|---|---:|",
        *[f"| `{name}` | {count:,} |" for name, count in counts.items()],
        "",
        "## Sources and licences",
        "",
        *source_table(used),
        "",
        "## Contents and caveats",
        "",
        REFERENCE_NOTES,
        "## Licence notices",
        "",
        "`sp500_constituents.csv` is ODC-PDDL-1.0 (public domain dedication): no notice needed.",
        "",
        *notice(
            "`sp500_membership_intervals.csv`: fja05680/sp500, MIT License",
            "Copyright (c) 2019-2020 Farrell J. Aultman <fja0568@gmail.com>",
            MIT_NOTICE,
        ),
        *notice(
            "`nasdaq100.csv`: LuckyCurve/stock_index_info, MIT License",
            "Copyright (c) 2025 LuckyCurve",
            MIT_NOTICE,
        ),
    ]
    return "\n".join(lines)


# -- entry point -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the command line; defaults are relative to the repository root."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--reference-out", type=Path, default=DEFAULT_REFERENCE_OUT)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the reference files; return the exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    write_files(args.reference_out, reference_files(args.shared, read_sources(args.shared)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
