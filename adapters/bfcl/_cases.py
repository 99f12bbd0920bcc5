"""BFCL multi-turn data: cases, ground truth, tool docs, tool instances and ground-truth call parsing.

Everything is read from the installed `bfcl_eval` package (never copied into this repository): the
questions (`data/BFCL_v4_<category>.json`), the ground truth (`data/possible_answer/...`), the tool
docs (`data/multi_turn_func_doc/*.json`) and the tool classes (`eval_checker/multi_turn_eval/
func_source_code/`). Instances are built exactly as bfcl's `execute_multi_turn_func_call` builds them.
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.resources
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bfcl_eval.constants.default_prompts import (
    DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC,
)
from bfcl_eval.constants.executable_backend_config import (
    CLASS_FILE_PATH_MAPPING,
    MULTI_TURN_FUNC_DOC_FILE_MAPPING,
    STATELESS_CLASSES,
)

from adapters.errors import AdapterError

__all__ = [
    "CATEGORIES",
    "BfclDataError",
    "Case",
    "GroundTruthCall",
    "data_dir",
    "load_cases",
    "load_func_docs",
    "make_instances",
    "method_table",
    "parse_call",
    "to_json_schema",
    "tool_schema",
]

CATEGORIES = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
"""The BFCL v4 multi-turn categories this adapter can run."""

_TYPE_MAP = {"dict": "object", "float": "number", "tuple": "array"}


class BfclDataError(AdapterError):
    """The bfcl data is not what this adapter expects (unknown category, unparsable call, unknown tool)."""


@dataclass(frozen=True, slots=True)
class GroundTruthCall:
    """One ground-truth call with every argument named.

    Attributes:
        name: the tool (method) name, e.g. `cd`.
        arguments: keyword arguments; positional arguments of the source text are mapped to parameter
            names with the bound method's signature. Values are Python literals as written (tuples stay
            tuples), in source order.
        source: the ground-truth text, e.g. `"cd(folder='document')"`.
    """

    name: str
    arguments: Mapping[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class Case:
    """One BFCL multi-turn test entry with its ground truth.

    Attributes:
        id: the entry id, e.g. `multi_turn_base_0`; also the session id and agent id.
        category: the category, e.g. `multi_turn_base`.
        questions: per turn, the turn's messages (`{"role", "content"}` dicts); a miss_func holdout
            turn is an empty list.
        ground_truth: per turn (same length as `questions`), the ground-truth call strings in order;
            empty for turns where the model should not call anything.
        initial_config: scenario per class name (passed to `_load_scenario`).
        involved_classes: tool class names, in bfcl's order (later classes win on a method name clash).
        missed_function: turn index -> tool names hidden until that turn (miss_func only; else empty).
        long_context: load scenarios with `long_context=True` (long_context category).
    """

    id: str
    category: str
    questions: tuple[tuple[Mapping[str, str], ...], ...]
    ground_truth: tuple[tuple[str, ...], ...]
    initial_config: Mapping[str, Any]
    involved_classes: tuple[str, ...]
    missed_function: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    long_context: bool = False

    @property
    def turns(self) -> int:
        """Number of user turns (one run each)."""
        return len(self.questions)

    def user_message(self, turn: int) -> str:
        """The user text of `turn`: its user messages joined by newlines.

        A holdout turn (no messages) gets bfcl's prompt for added functions, as bfcl's FC handler does.
        """
        texts = [m["content"] for m in self.questions[turn] if m.get("role") == "user"]
        return "\n".join(texts) if texts else DEFAULT_USER_PROMPT_FOR_ADDITIONAL_FUNCTION_FC

    def hidden_tools(self, turn: int) -> frozenset[str]:
        """Tool names not yet visible to the model in `turn` (missed functions of later turns)."""
        return frozenset(name for at, names in self.missed_function.items() if at > turn for name in names)


def data_dir() -> Path:
    """The `data` directory of the installed bfcl_eval package."""
    return Path(str(importlib.resources.files("bfcl_eval") / "data"))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_cases(category: str, *, limit: int | None = None) -> list[Case]:
    """Load the entries of `category` with their ground truth, in file order.

    Args:
        category: one of `CATEGORIES`.
        limit: keep only the first `limit` entries; None keeps all.

    Raises:
        BfclDataError: unknown category, or an entry without ground truth.
    """
    if category not in CATEGORIES:
        raise BfclDataError(f"unknown BFCL category {category!r}; choose one of {', '.join(CATEGORIES)}")
    entries = _read_jsonl(data_dir() / f"BFCL_v4_{category}.json")
    answers = {
        a["id"]: a["ground_truth"] for a in _read_jsonl(data_dir() / "possible_answer" / f"BFCL_v4_{category}.json")
    }
    cases: list[Case] = []
    for entry in entries[:limit] if limit is not None else entries:
        truth = answers.get(entry["id"])
        if truth is None or len(truth) != len(entry["question"]):
            raise BfclDataError(f"{entry['id']}: ground truth missing or not one list per turn")
        cases.append(
            Case(
                id=entry["id"],
                category=category,
                questions=tuple(tuple(turn) for turn in entry["question"]),
                ground_truth=tuple(tuple(calls) for calls in truth),
                initial_config=entry.get("initial_config", {}),
                involved_classes=tuple(entry["involved_classes"]),
                missed_function={int(k): tuple(v) for k, v in entry.get("missed_function", {}).items()},
                long_context="long_context" in category or "composite" in category,
            )
        )
    return cases


def load_func_docs(classes: Sequence[str]) -> list[dict[str, Any]]:
    """The bfcl tool docs of `classes`, concatenated in class order (bfcl's `function` list).

    Raises:
        BfclDataError: a class has no doc file.
    """
    docs: list[dict[str, Any]] = []
    for class_name in classes:
        file_name = MULTI_TURN_FUNC_DOC_FILE_MAPPING.get(class_name)
        if file_name is None:
            raise BfclDataError(f"no bfcl func doc for class {class_name!r}")
        docs.extend(_read_jsonl(data_dir() / "multi_turn_func_doc" / file_name))
    return docs


def to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Convert a bfcl parameter schema to JSON schema, recursively.

    `dict` -> `object`, `float` -> `number`, `tuple` -> `array`, `any` -> no `type` key; other types and
    keys are kept. Nested `properties` values and `items` are converted too. The input is not modified.
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            if value != "any":
                out["type"] = _TYPE_MAP.get(value, value)
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out["items"] = to_json_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def tool_schema(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A bfcl func doc as a tool definition `{"name", "description", "parameters"}` (its `response` dropped)."""
    parameters = to_json_schema(doc.get("parameters") or {"type": "dict", "properties": {}})
    parameters.setdefault("properties", {})
    parameters.setdefault("required", [])
    return {"name": doc["name"], "description": doc.get("description", ""), "parameters": parameters}


def make_instances(case: Case) -> dict[str, Any]:
    """Fresh tool instances of the case's classes, built like bfcl's `execute_multi_turn_func_call`.

    `class_()`, then, unless the class is stateless, `_load_scenario(deepcopy(initial_config[cls]),
    long_context=case.long_context)`.

    Returns:
        Instance by class name, in `involved_classes` order.
    """
    instances: dict[str, Any] = {}
    for class_name in case.involved_classes:
        module = importlib.import_module(CLASS_FILE_PATH_MAPPING[class_name])
        instance = getattr(module, class_name)()
        if class_name not in STATELESS_CLASSES:
            config = copy.deepcopy(case.initial_config.get(class_name, {}))
            instance._load_scenario(config, long_context=case.long_context)
        instances[class_name] = instance
    return instances


def method_table(instances: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    """Public bound methods by name over `instances` (a later class wins a name clash, as in bfcl)."""
    table: dict[str, Callable[..., Any]] = {}
    for instance in instances.values():
        for name, method in inspect.getmembers(instance, predicate=inspect.ismethod):
            if not name.startswith("_"):
                table[name] = method
    return table


def parse_call(source: str, methods: Mapping[str, Callable[..., Any]]) -> GroundTruthCall:
    """Parse a ground-truth call string such as `"mv(source='a', destination='b')"` or `"sort('f.pdf')"`.

    Arguments must be Python literals (strings, numbers, lists, dicts, tuples, booleans, None).
    Positional arguments are named with the signature of `methods[name]`.

    Raises:
        BfclDataError: not a single call of a known method, a non-literal argument, or arguments the
            method's signature does not accept.
    """
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise BfclDataError(f"cannot parse ground-truth call {source!r}: {exc}") from exc
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise BfclDataError(f"ground truth {source!r} is not a plain function call")
    name = node.func.id
    method = methods.get(name)
    if method is None:
        raise BfclDataError(f"ground truth {source!r} calls {name!r}, which no involved class defines")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
    except ValueError as exc:
        raise BfclDataError(f"ground truth {source!r} has a non-literal argument: {exc}") from exc
    try:
        bound = inspect.signature(method).bind(*args, **kwargs)
    except TypeError as exc:
        raise BfclDataError(f"ground truth {source!r} does not fit {name}{inspect.signature(method)}: {exc}") from exc
    return GroundTruthCall(name=name, arguments=dict(bound.arguments), source=source)
