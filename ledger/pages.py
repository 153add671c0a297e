"""Pages of events sized by their bytes, so a walk of the whole ledger holds one page."""

from __future__ import annotations

#: The payload text one page of events may hold, about (the decoded objects cost more).
PAGE_BYTES = 16 * 1024 * 1024
#: The first page's rows: small, since one event may hold thousands of records.
FIRST_PAGE_ROWS = 64


class PageSizer:
    """Rows to ask for next: grows while pages stay small, shrinks after a big one, and
    stays within [1, most]. One page of big events (a million-record merge is hundreds
    of them) then costs about PAGE_BYTES, and a ledger of small events is read in large
    pages as before."""

    def __init__(self, most: int, budget: int = PAGE_BYTES) -> None:
        self.most = max(1, most)
        self.budget = budget
        self.rows = min(FIRST_PAGE_ROWS, self.most)

    def saw(self, rows: int, text_bytes: int) -> None:
        """Record what the last page held; sets `rows` for the next one."""
        if rows <= 0:
            return
        per_row = max(1, text_bytes // rows)
        fitting = max(1, self.budget // per_row)
        self.rows = max(1, min(self.most, fitting, self.rows * 4))
