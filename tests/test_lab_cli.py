"""The lab's command line answers bad input with one line on stderr and exit 2, before
anything starts; any project and stack can be chosen; several components need a name."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from asset_delivery.lab.__main__ import main
from asset_delivery.lab.stack import StackError, load_stack
from consumer_project import write_consumer_project

ROOT = Path(__file__).resolve().parents[1]


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI; assert exit 2, one stderr line, no traceback, nothing on stdout."""
    with pytest.raises(SystemExit) as exited:
        sys.exit(main(argv))
    captured = capsys.readouterr()
    assert exited.value.code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


def consumer(tmp_path: Path) -> Path:
    return write_consumer_project(tmp_path)


def test_unknown_stack(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["drill", "drain", "--project", str(ROOT), "--stack", "dev"])
    assert "Pulumi.dev.yaml" in line and "stacks here: prod" in line


def test_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["drill", "earthquake", "--project", str(ROOT)])
    assert "'earthquake'" in line and "region-outage" in line and "all" in line


def test_unknown_project(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = one_line_error(capsys, ["demo", "--project", str(tmp_path / "nowhere")])
    assert "nowhere" in line and "does not exist" in line


def test_region_not_in_the_stack_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = one_line_error(
        capsys, ["drill", "region-outage", "--project", str(ROOT), "--region", "ap-south-1"]
    )
    assert line.endswith("--region ap-south-1 is not a region of stack prod: us-east-1, eu-west-1")


def test_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        line = one_line_error(capsys, ["up", "--project", str(ROOT), "--port", str(port)])
    finally:
        taken.close()
    assert f"127.0.0.1:{port} is not available" in line


def test_missing_optional_dependency(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    line = one_line_error(capsys, ["drill", "drain", "--project", str(ROOT)])
    assert "'matplotlib'" in line and 'pip install "asset-delivery[lab]"' in line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["drill", "locality", "--edge-regions", "us-east-1,eu-north-1"], "'eu-north-1'"),
        (["drill", "locality", "--routing-mode", "nearest"], "--routing-mode"),
    ],
)
def test_locality_options_are_checked(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    line = one_line_error(capsys, argv)
    assert words in line


def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_line_error(capsys, ["drill", "drain", "--repeat", "0"])
    assert "--repeat" in line


def test_program_failure_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    project = consumer(tmp_path)
    (project / "Pulumi.broken.yaml").write_text(
        "config:\n  shop:media: [{region: us-west-2, weight: 300}]\n  shop:docs: []\n"
    )
    line = one_line_error(capsys, ["demo", "--project", str(project), "--stack", "broken"])
    assert "failed for stack broken" in line


def test_several_components_need_a_name(tmp_path: Path) -> None:
    project = consumer(tmp_path)
    with pytest.raises(StackError, match=r"2 components \(docs, media\); choose one"):
        load_stack("staging", project)
    with pytest.raises(StackError, match=r"--component shop: .* components: docs, media"):
        load_stack("staging", project, "shop")


def test_component_picks_its_own_resources(tmp_path: Path) -> None:
    project = consumer(tmp_path)
    media = load_stack("staging", project, "media")
    docs = load_stack("staging", project, "docs")
    assert {r: s.weight for r, s in media.regions.items()} == {
        "us-west-2": 40,
        "eu-central-1": 30,
        "ap-northeast-1": 30,
    }
    assert media.primary_region == "us-west-2"
    assert list(docs.regions) == ["eu-west-1", "us-east-1"]
    assert media.routing.record_name != docs.routing.record_name
    assert media.function is not None and docs.function is not None
    assert media.function.qualified_arn != docs.function.qualified_arn


@pytest.mark.parametrize(
    ("module", "where"), [("lab", "repository"), ("asset_delivery.lab", "elsewhere")]
)
def test_both_entry_points_run(module: str, where: str, tmp_path: Path) -> None:
    """``python -m lab`` from the repository, ``python -m asset_delivery.lab`` anywhere."""
    result = subprocess.run(
        [sys.executable, "-m", module, "drill", "earthquake"],
        cwd=ROOT if where == "repository" else tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"python -m {module}: error: unknown scenario 'earthquake'")
    assert len(result.stderr.strip().splitlines()) == 1
