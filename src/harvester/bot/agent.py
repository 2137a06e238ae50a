"""The LLM path: Claude reads free text and calls the command library through tools.

The tools are the :class:`~harvester.bot.commands.BotCommands` methods, each with a JSON
schema (:data:`TOOLS`); the model never writes SQL and never sees another user's data — the
user id is added by :func:`dispatch`, not chosen by the model. Each user has a bounded
conversation memory (:class:`Memory`, the last ``max_turns`` exchanges in this process), so
"exit the one with the biggest loss" after "what are my positions?" works.

The Messages API is reached through a :class:`MessagesClient`: :class:`AnthropicClient`
wraps the ``anthropic`` SDK (the ``anthropic`` extra); tests replay a recorded transcript
through a fake client. Responses are handled as plain dicts of the API's JSON.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from typing import Any, Protocol

from harvester.bot.commands import BotCommands, Reply
from harvester.core.errors import ConfigError

__all__ = [
    "MAX_STEPS",
    "SYSTEM_PROMPT",
    "TOOLS",
    "AnthropicClient",
    "ClaudeAgent",
    "Memory",
    "MessagesClient",
    "dispatch",
]

log = logging.getLogger(__name__)

MAX_STEPS = 6  # tool rounds per message before the agent gives up
MAX_TOKENS = 1024
SYSTEM_PROMPT = (
    "You are the harvester trading bot on Discord. You track the user's own trades and "
    "report the system's signals. Act only through the tools; tickers are upper-case symbols "
    "(apple → AAPL). Never invent prices or quantities the user did not give: ask instead. "
    "Answer briefly in Discord markdown, with dollar amounts and percentages from tool results."
)

_NUM = {"type": "number"}
_TICKER = {"type": "string", "description": "Ticker symbol, upper case, e.g. AAPL"}


def _tool(
    name: str, description: str, props: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    schema = {"type": "object", "properties": props, "required": required}
    return {"name": name, "description": description, "input_schema": schema}


TOOLS: list[dict[str, Any]] = [
    _tool("enter", "Record that the user bought a stock. Without qty it is sized from their "
          "capital and the active signal.", {"ticker": _TICKER, "price": _NUM, "qty": _NUM},
          ["ticker", "price"]),
    _tool("exit", "Record that the user sold (FIFO over their lots). qty or fraction (0-1); "
          "neither sells all.", {"ticker": _TICKER, "price": _NUM, "qty": _NUM, "fraction": _NUM},
          ["ticker", "price"]),
    _tool("set_capital", "Set the user's capital in dollars.", {"amount": _NUM}, ["amount"]),
    _tool("positions", "The user's open positions with unrealised P&L.", {}, []),
    _tool("pnl", "The user's realised and unrealised P&L in dollars and percent.", {}, []),
    _tool("history", "The user's last n closed trades.", {"n": {"type": "integer"}}, []),
    _tool("signals_today", "The latest scan's new signals with stop and target.", {}, []),
    _tool("exposure", "The system's paper account exposure.", {}, []),
    _tool("stale_models", "Models older than the retrain limit.", {}, []),
    _tool("help", "The list of chat commands.", {}, []),
]  # fmt: skip
USER_TOOLS = frozenset({"enter", "exit", "set_capital", "positions", "pnl", "history"})
_ALLOWED = {t["name"]: set(t["input_schema"]["properties"]) for t in TOOLS}


def dispatch(commands: BotCommands, user: str, name: str, args: dict[str, Any]) -> Reply:
    """Call the command ``name`` for ``user`` with the model's ``args`` (unknown names and
    arguments are refused, never passed through)."""
    if name not in _ALLOWED:
        return Reply(f"unknown tool {name!r}", ok=False)
    extra = set(args) - _ALLOWED[name]
    if extra:
        return Reply(f"unknown argument(s) {', '.join(sorted(extra))} for {name}", ok=False)
    method: Callable[..., Reply] = getattr(commands, name)
    try:
        return method(user, **args) if name in USER_TOOLS else method(**args)
    except (TypeError, ValueError) as error:
        return Reply(f"bad arguments for {name}: {error}", ok=False)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def tool_result(block_id: str, reply: Reply) -> dict[str, Any]:
    """The ``tool_result`` block for a reply: its text and data as JSON."""
    content = json.dumps({"ok": reply.ok, "text": reply.text, "data": _jsonable(reply.data)})
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block_id, "content": content}
    if not reply.ok:
        result["is_error"] = True
    return result


class MessagesClient(Protocol):
    """The one Messages API call the agent makes; returns the response JSON as a dict."""

    def create(self, **request: Any) -> dict[str, Any]: ...


class AnthropicClient:
    """:class:`MessagesClient` over the ``anthropic`` SDK (imported here, when used)."""

    def __init__(self, api_key: str) -> None:
        try:
            import anthropic
        except ImportError:
            raise ConfigError(
                "ANTHROPIC_API_KEY is set but the anthropic SDK is not installed; run: "
                "pip install 'harvester[anthropic]' (or unset the key to use the command parser)"
            ) from None
        self._client = anthropic.Anthropic(api_key=api_key)

    def create(self, **request: Any) -> dict[str, Any]:
        response = self._client.messages.create(**request)
        dumped: dict[str, Any] = response.model_dump(mode="json")
        return dumped


class Memory:
    """Per-user conversation memory: the last ``max_turns`` exchanges, each the user's text and
    everything up to the final answer (tool calls included, so pairs are never split)."""

    def __init__(self, max_turns: int = 20) -> None:
        self.max_turns = max_turns
        self._turns: dict[str, deque[list[dict[str, Any]]]] = {}

    def messages(self, user: str) -> list[dict[str, Any]]:
        return [m for turn in self._turns.get(user, ()) for m in turn]

    def remember(self, user: str, turn: list[dict[str, Any]]) -> None:
        self._turns.setdefault(user, deque(maxlen=self.max_turns)).append(turn)

    def forget(self, user: str) -> None:
        self._turns.pop(user, None)


def _text(content: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"] for b in content if b.get("type") == "text").strip()


class ClaudeAgent:
    """Free text → Claude with the command tools → the final answer (see the module doc)."""

    def __init__(
        self,
        commands: BotCommands,
        client: MessagesClient,
        *,
        model: str,
        memory: Memory | None = None,
    ) -> None:
        self.commands = commands
        self.client = client
        self.model = model
        self.memory = memory or Memory()

    def _ask(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return self.client.create(model=self.model, max_tokens=MAX_TOKENS, system=SYSTEM_PROMPT,
                                  tools=TOOLS, messages=messages)  # fmt: skip

    def _run_tools(self, user: str, content: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results = []
        for block in content:
            if block.get("type") == "tool_use":
                reply = dispatch(self.commands, user, block["name"], dict(block.get("input", {})))
                log.info("bot tool %s for user %s: ok=%s", block["name"], user, reply.ok)
                results.append(tool_result(block["id"], reply))
        return results

    def respond(self, user: str, text: str) -> str:
        """Answer one message of ``user``, calling tools as the model asks."""
        turn: list[dict[str, Any]] = [{"role": "user", "content": text}]
        for _ in range(MAX_STEPS):
            response = self._ask(self.memory.messages(user) + turn)
            content = list(response.get("content", []))
            turn.append({"role": "assistant", "content": content})
            if response.get("stop_reason") != "tool_use":
                self.memory.remember(user, turn)
                return _text(content) or "(no answer)"
            turn.append({"role": "user", "content": self._run_tools(user, content)})
        return "That took too many steps; please say it more simply or use a command (`help`)."
