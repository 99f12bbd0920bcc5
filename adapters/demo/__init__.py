"""The bundled demo: agents that run with no API key (scripted model) — `agnostream run --agent weather ...`."""
