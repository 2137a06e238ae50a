"""``harvester broker test-order``: one small paper order and its round trip."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.options import JsonOption, context_from

if TYPE_CHECKING:
    from harvester.app.broker import RoundTrip

app = typer.Typer(help="Check a broker connection (paper accounts).", no_args_is_help=True)


def _lines(trip: RoundTrip) -> list[str]:
    final = trip.final
    fill = (
        f"{final.filled_qty:g} {trip.symbol} @ {final.filled_avg_price:.4f}"
        if final.filled_avg_price is not None
        else "none"
    )
    lines = [
        f"broker      {trip.broker}",
        f"order       {trip.client_order_id} (broker id {trip.broker_order_id})",
        f"submitted   {trip.submitted_at.isoformat()}  acknowledged in {trip.acknowledged_s:.2f} s",
        f"statuses    {trip.status_path}",
        f"fill        {fill}",
        f"round trip  {trip.elapsed_s:.2f} s, final status {final.status.value}",
    ]
    return lines + [f"note        {note}" for note in trip.notes]


def _as_json(trip: RoundTrip) -> str:
    final = trip.final
    return json.dumps(
        {
            "broker": trip.broker,
            "client_order_id": trip.client_order_id,
            "broker_order_id": trip.broker_order_id,
            "symbol": trip.symbol,
            "qty": trip.qty,
            "submitted_at": trip.submitted_at.isoformat(),
            "acknowledged_s": trip.acknowledged_s,
            "statuses": [s.value for s in trip.statuses],
            "status": final.status.value,
            "filled_qty": final.filled_qty,
            "fill_price": final.filled_avg_price,
            "elapsed_s": trip.elapsed_s,
            "canceled_by_us": trip.canceled_by_us,
            "notes": list(trip.notes),
        },
        indent=2,
    )


@app.command("test-order")
def test_order(
    broker: Annotated[
        str,
        typer.Option(
            "--broker",
            help="alpaca (paper endpoint), ib (TWS paper port) or paper (built in).",
        ),
    ] = "alpaca",
    symbol: Annotated[str, typer.Option("--symbol", help="Symbol to buy.")] = "SPY",
    qty: Annotated[float, typer.Option("--qty", min=0, help="Shares (small!).")] = 1.0,
    side: Annotated[str, typer.Option("--side", help="buy or sell.")] = "buy",
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait for a terminal status.")
    ] = 30.0,
    interval: Annotated[
        float, typer.Option("--interval", min=0, help="Seconds between status polls.")
    ] = 1.0,
    as_json: JsonOption = False,
) -> None:
    """Submit one market day order to a paper account, wait for it to fill (or cancel it
    after --timeout) and print the round trip: ids, submission time, status path, fill
    price and latency."""
    from harvester.app.broker import open_test_broker, run_test_order

    if side not in ("buy", "sell"):
        raise typer.BadParameter("--side must be buy or sell")
    ctx = context_from()
    environ = {**ctx.secrets.plain(), **ctx.environ}
    client = open_test_broker(broker, environ=environ)
    trip = run_test_order(
        client, symbol=symbol, qty=qty, side=side, timeout_s=timeout, interval_s=interval
    )
    typer.echo(_as_json(trip) if as_json else "\n".join(_lines(trip)))
