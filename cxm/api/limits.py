"""Bounds of values the API accepts, so that out-of-range input is a 400 and never a database error."""

# Primary keys are 64-bit (`BigAutoField`); a larger number names no row and overflows the database.
MAX_ID = 2**63 - 1
