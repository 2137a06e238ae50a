"""The CLI end to end through ``main(argv)``: output, one-line errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.cli.main import main

HEADER = "date,symbol,open,high,low,close,volume\n"
GOOD_ROWS = [
    "2017-07-03,AAPL,144.88,145.30,143.10,143.50,14277800",
    "2017-07-05,AAPL,143.69,144.79,142.72,144.09,21569600",
    "2017-07-06,AAPL,143.02,143.50,142.41,142.73,24128800",
]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("run", "config", "data", "version"):
        assert command in out


def test_data_info_on_the_sample_lists_real_symbols(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "data", "info", "--data", "sample", "--json")
    assert code == 0
    payload = json.loads(out)
    symbols = {row["symbol"] for row in payload["symbols"]}
    assert {"AAPL", "MSFT", "JPM", "XOM"} <= symbols
    assert {row["name"] for row in payload["aux"]} == {"benchmark", "oil", "vix"}


def test_data_info_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "data", "info", "--data", "sample", "--start", "2017-01-01")
    assert code == 0
    assert "AAPL" in out
    assert "2017-01-03" in out  # first session of 2017


def test_run_on_synthetic_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "run", "--data", "synthetic:symbols=3,years=1,seed=1")
    assert code == 0
    assert "SYN000" in out and "SYN002" in out


def test_clean_file_passes_enforce(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD_ROWS)
    report = tmp_path / "report.json"
    code, out, _ = run_cli(
        capsys, "data", "check", "--data", str(path), "--mode", "enforce", "--report", str(report)
    )
    assert code == 0, out
    assert json.loads(report.read_text())["findings"] == []


BAD_FILES = {
    "missing_column": (HEADER.replace(",volume", ""), [r.rsplit(",", 1)[0] for r in GOOD_ROWS]),
    "negative_price": (HEADER, [GOOD_ROWS[0], GOOD_ROWS[1].replace("144.09", "-144.09")]),
    "high_below_low": (HEADER, [GOOD_ROWS[0], "2017-07-05,AAPL,143.69,140.00,142.72,141.00,1"]),
    "duplicate_dates": (HEADER, [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[1]]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_enforce_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    header, rows = BAD_FILES[case]
    path = write_csv(tmp_path / f"{case}.csv", rows, header=header)
    code, _, err = run_cli(capsys, "data", "check", "--data", str(path), "--mode", "enforce")
    assert code == 2
    line = error_line(err)
    assert path.name in line
    assert "Traceback" not in err


def test_enforce_fails_on_an_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, _, err = run_cli(capsys, "data", "check", "--data", str(path), "--mode", "enforce")
    assert code == 2
    assert "empty.csv" in error_line(err)


def test_enforce_fails_on_non_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + GOOD_ROWS[0] + ",Société\n").encode("latin-1"))
    code, _, err = run_cli(capsys, "data", "check", "--data", str(path), "--mode", "enforce")
    assert code == 2
    line = error_line(err)
    assert "latin1.csv" in line
    assert "UTF-8" in line


def test_warn_mode_reports_but_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header, rows = BAD_FILES["duplicate_dates"]
    path = write_csv(tmp_path / "dups.csv", rows, header=header)
    report = tmp_path / "r.json"
    code, _, _ = run_cli(capsys, "data", "check", "--data", str(path), "--report", str(report))
    assert code == 0
    rules = {f["rule"] for f in json.loads(report.read_text())["findings"]}
    assert "duplicate_date" in rules


def test_enforce_writes_the_report_before_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, rows = BAD_FILES["negative_price"]
    path = write_csv(tmp_path / "neg.csv", rows, header=header)
    report = tmp_path / "neg.json"
    code, _, _ = run_cli(
        capsys, "data", "check", "--data", str(path), "--mode", "enforce", "--report", str(report)
    )
    assert code == 2
    findings = json.loads(report.read_text())["findings"]
    assert any(f["rule"] == "non_positive_price" and f["symbol"] == "AAPL" for f in findings)


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code, _, err = run_cli(capsys, "--debug", "data", "info", "--data", str(path))
    assert code == 2
    assert "Traceback" in err


def test_unknown_data_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "data", "info", "--data", "nowhere.csv")
    assert code == 2
    assert "'nowhere.csv'" in error_line(err)


def test_config_show_applies_profile_and_asset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys,
        "config",
        "show",
        "--profile",
        "risk_low",
        "--asset",
        "BTC-USD",
        "--json",
        "--sources",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["config"]["risk_params"]["max_drawdown_pct"] == 8.0
    assert payload["config"]["asset_class"] == "crypto"
    assert payload["sources"]["risk_params.max_drawdown_pct"] == "profile risk_low"


def test_config_show_never_echoes_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHA_VANTAGE_API_KEY", "av-secret-value-42")
    for extra in ([], ["--json"]):
        code, out, err = run_cli(capsys, "config", "show", *extra)
        assert code == 0
        assert "av-secret-value-42" not in out + err
        assert "ALPHA_VANTAGE_API_KEY" in out


def test_config_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"risk_params": {"max_drawdown_pct": 12}}')
    assert run_cli(capsys, "config", "validate", str(good))[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"risk_params": {"max_drawdown_pc": 12}}')
    code, _, err = run_cli(capsys, "config", "validate", str(bad))
    assert code == 2
    line = error_line(err)
    assert "bad.json" in line and "'risk_params.max_drawdown_pc'" in line


def test_create_profile_then_use_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli(
        capsys, "config", "create-profile", "tight", "--set", "risk_params.max_drawdown_pct=4"
    )
    assert code == 0
    code, out, _ = run_cli(capsys, "config", "show", "--profile", "tight", "--json")
    assert code == 0
    assert json.loads(out)["config"]["risk_params"]["max_drawdown_pct"] == 4.0


def test_bad_flag_value_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "data", "info", "--start", "yesterday-ish")
    assert code == 2
    assert "--start" in error_line(err)


def test_universe_listing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "data", "universe", "sp500")
    assert code == 0
    assert "AAPL\tInformation Technology" in out.splitlines()


def test_nothing_is_written_outside_the_home(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    assert run_cli(capsys, "run")[0] == 0
    assert list(workdir.iterdir()) == []
    assert (isolated_home / "logs" / "harvester.log").exists()
