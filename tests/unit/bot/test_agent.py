"""The LLM path replayed from a recorded tool-calling transcript (no network): the tool call
reaches the command library, the reply is the model's final text, memory carries over."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harvester.bot.agent import TOOLS, ClaudeAgent, Memory, dispatch
from harvester.bot.commands import BotCommands
from harvester.bot.router import Router
from harvester.store.user_trades import open_lots

TRANSCRIPT = json.loads((Path(__file__).parent / "transcripts" / "enter_then_pnl.json").read_text())


class ReplayClient:
    """A Messages client that answers with recorded responses and keeps every request."""

    def __init__(self, responses: list[dict[str, Any]]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def create(self, **request: Any) -> dict[str, Any]:
        self.requests.append(copy.deepcopy(request))
        return self.responses.pop(0)


def _replay() -> ReplayClient:
    return ReplayClient([r for turn in TRANSCRIPT["turns"] for r in turn["responses"]])


def test_a_plain_language_buy_is_recorded_and_remembered(commands: BotCommands) -> None:
    client = _replay()
    router = Router(commands, ClaudeAgent(commands, client, model="claude-test"))
    first, second = TRANSCRIPT["turns"]

    reply = router.respond("alice", first["user"])
    assert reply.text == first["responses"][-1]["content"][0]["text"]
    [lot] = open_lots(commands.store, "alice", "AAPL")
    assert (lot.qty, lot.entry_price, lot.stop, lot.target) == (20.0, 185.5, 180.0, 200.0)

    tool_turn = client.requests[1]["messages"][-1]["content"][0]
    assert tool_turn["type"] == "tool_result" and "is_error" not in tool_turn
    assert json.loads(tool_turn["content"])["data"]["lot"]["qty"] == 20.0

    reply = router.respond("alice", second["user"])
    assert reply.text == second["responses"][-1]["content"][0]["text"]
    follow_up = client.requests[2]["messages"]
    assert follow_up[0] == {"role": "user", "content": first["user"]}
    assert len(follow_up) == 5  # turn 1 (user, tool_use, tool_result, answer) + the new text
    pnl = json.loads(client.requests[3]["messages"][-1]["content"][0]["content"])["data"]
    assert pnl["unrealised"] == pytest.approx(20 * (190.0 - 185.5))  # the +$90 the model quotes
    assert client.requests[0]["tools"] == TOOLS and client.requests[0]["model"] == "claude-test"
    assert not client.responses  # the whole transcript was replayed


def test_memory_is_per_user_and_bounded() -> None:
    memory = Memory(max_turns=2)
    for i in range(3):
        memory.remember("alice", [{"role": "user", "content": f"a{i}"}])
    memory.remember("bob", [{"role": "user", "content": "b0"}])
    assert [m["content"] for m in memory.messages("alice")] == ["a1", "a2"]
    assert [m["content"] for m in memory.messages("bob")] == ["b0"]


def test_dispatch_refuses_unknown_tools_and_arguments(commands: BotCommands) -> None:
    assert not dispatch(commands, "alice", "drop_table", {}).ok
    assert not dispatch(
        commands, "alice", "enter", {"ticker": "AAPL", "price": 1, "user": "bob"}
    ).ok
    assert not dispatch(commands, "alice", "enter", {"price": 1}).ok  # missing ticker
    assert open_lots(commands.store, "alice") == [] and open_lots(commands.store, "bob") == []


def test_every_tool_is_a_command_method() -> None:
    assert all(callable(getattr(BotCommands, tool["name"], None)) for tool in TOOLS)
