"""Errors raised for input the product cannot use."""


class DataError(ValueError):
    """Input that cannot be loaded.

    The message names the file (or source), the column, the row(s) and what was expected,
    so a data owner can fix the input without reading a traceback.
    """
