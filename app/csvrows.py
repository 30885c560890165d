"""Reading the CSV files users upload (the matrix, departments) record by record, so that
every unreadable record is reported by its line, with the rest of the file still checked:
the csv module's own errors (a cell over its size limit, a stray quote), and cells with a
character the database cannot store. Old-Mac (CR-only) and Windows line endings read like
Unix ones."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from app.storable import UNSTORABLE

BOM = "\ufeff"


def csv_records(text: str) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, cells) for each record, or (line number, what is wrong with it)."""
    # newline=None: universal newlines, so "\r" alone ends a line as "\n" does.
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=None))
    failed_line = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            failed_line = reader.line_num
            yield failed_line, f"cannot be read as CSV: {exc}"
            continue
        if reader.line_num == failed_line:
            continue  # what the reader makes of the rest of a line it failed on
        bad = [n for n, cell in enumerate(record, start=1) if UNSTORABLE.search(cell)]
        if bad:
            yield reader.line_num, (f"cell {bad[0]} contains a character that cannot be "
                                    "stored (U+0000 or a lone surrogate)")
            continue
        yield reader.line_num, record
