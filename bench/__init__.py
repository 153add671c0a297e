"""`make bench`: the performance targets of the issues, measured (never part of `make test`)."""
