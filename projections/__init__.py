"""Read models derived from the ledger's events, and the fold that keeps them current."""
