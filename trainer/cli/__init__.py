"""The command line: `python -m trainer COMMAND`. Parses, then calls one function; no work here."""
