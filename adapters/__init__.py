"""The edges and composition root: HTTP API, CLI, model providers, workers, settings (the only env reader).

May import: `engine`, `streams`, `projections`.
"""

import importlib.util as _importlib_util
import sys as _sys

# Two optional imports of the HTTP stack are cut short here, before anything imports it. A None entry in
# sys.modules makes an import fail at once, as Python documents, and the importer goes without the module.
# - httpx imports its command-line client (`httpx._main`: click, rich, pygments) whenever those are
#   installed, as they are here (uvicorn needs click, our CLI rich): ~4 MB of every server's memory for a
#   tool we never run.
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
# - httpcore runs `import sniffio` on every lock, event and shielded close, several times per streamed
#   chunk; when it is not installed each of those is a full, failing search of sys.path (~5 % of the
#   server's CPU under load).
if _importlib_util.find_spec("sniffio") is None:
    _sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]
