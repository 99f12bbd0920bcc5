"""BFCL multi-turn cases run through the runtime, checked against bfcl's own ground truth.

Owns: loading the installed `bfcl_eval` data (`_cases`), the harness that plays each case's ground
truth through a `Runtime` and compares tool states (`_harness`), the fresh-process rebuild and
replay check of the resulting log (`rebuild`), and the `python -m adapters.bfcl` CLI.
May import: `engine`, `streams`, `projections`, `adapters`, and `bfcl_eval` (installed with --no-deps).
"""

from ._cases import (
    CATEGORIES,
    BfclDataError,
    Case,
    GroundTruthCall,
    data_dir,
    load_cases,
    load_func_docs,
    make_instances,
    method_table,
    parse_call,
    to_json_schema,
    tool_schema,
)
from ._harness import (
    FINAL_TEXT,
    RUN_TIMEOUT_S,
    CaseResult,
    HarnessRun,
    Script,
    agent_id_for_turn,
    build_agents,
    entrypoints,
    export_events,
    ground_truth_script,
    run_cases,
    scripted_model,
)

__all__ = [
    "CATEGORIES",
    "FINAL_TEXT",
    "RUN_TIMEOUT_S",
    "BfclDataError",
    "Case",
    "CaseResult",
    "GroundTruthCall",
    "HarnessRun",
    "Script",
    "agent_id_for_turn",
    "build_agents",
    "data_dir",
    "entrypoints",
    "export_events",
    "ground_truth_script",
    "load_cases",
    "load_func_docs",
    "make_instances",
    "method_table",
    "parse_call",
    "run_cases",
    "scripted_model",
    "to_json_schema",
    "tool_schema",
]
