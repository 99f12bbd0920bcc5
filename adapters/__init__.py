"""The edges and composition root: HTTP API, CLI, model providers, workers, settings (the only env reader).

May import: `engine`, `streams`, `projections`.
"""

import sys as _sys

# httpx imports its command-line client (`httpx._main`: click, rich, pygments) whenever those are installed,
# as they are here (uvicorn needs click, our CLI rich): ~4 MB of every server's memory for a tool we never
# run. A None entry makes that optional import fail at once, as Python documents, and httpx goes without it.
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
