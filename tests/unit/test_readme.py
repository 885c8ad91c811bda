"""The README's two commands are the contract with users and CI: keep .ci/run in step with them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shell_blocks(text: str) -> list[str]:
    blocks, inside, current = [], False, []
    for line in text.splitlines():
        if line.startswith("```"):
            if inside:
                blocks.append("\n".join(current))
                current = []
            inside = not inside
        elif inside:
            current.append(line)
    return blocks


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    test_command = _shell_blocks(readme)[1].strip()
    assert "pytest" in test_command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_readme_start_command_runs_the_server_module():
    readme = (ROOT / "README.md").read_text()
    start_command = _shell_blocks(readme)[0].strip()
    assert start_command.endswith("python -m ember")
