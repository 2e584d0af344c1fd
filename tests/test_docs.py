"""The layout in docs/design.md names every module and config, so it stays true as files come and go."""

import re

from conftest import ROOT


def layout() -> str:
    text = (ROOT / "docs" / "design.md").read_text()
    return text.split("## Layout (every folder and module)", 1)[1].split("```", 2)[1]


def test_layout_names_every_module_and_config():
    """Every part's folder with each of its modules on the folder's lines, the entry points, and every config."""
    block = layout()
    parts = {}  # folder -> the layout's text from its line to the next folder's
    for chunk in re.split(r"\n  (?=\S)", block)[1:]:
        head = chunk.split()[0]
        if head.endswith("/"):
            parts[head] = chunk
    missing = []
    package = ROOT / "replication"
    for folder in sorted(p for p in package.iterdir() if (p / "__init__.py").exists() and p.name != "data"):
        text = parts.get(folder.name + "/", "")
        names = [m.name for m in folder.glob("*.py") if not m.name.startswith("__")]
        missing += [f"{folder.name}/{n}" for n in [""] + sorted(names) if not text or (n and n not in text)]
    entry_points = sorted(p.name for p in package.glob("*.py") if p.name != "__init__.py")
    configs = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    missing += [name for name in entry_points + configs if name not in block]
    assert not missing, f"docs/design.md layout does not name: {missing}"


def test_the_config_schema_ships_with_the_package():
    from importlib import resources

    from replication.config.load import SCHEMA

    assert SCHEMA.exists() and resources.files("replication").joinpath("data", "config_schema.yaml").is_file()
    assert "data/*.yaml" in (ROOT / "pyproject.toml").read_text()


def test_readme_is_a_user_guide_with_the_details_in_docs():
    """The README stays a user guide (the two commands first, under 16,000 characters); every file it sends a
    reader to exists."""
    text = (ROOT / "README.md").read_text()
    assert len(text) < 16_000, f"README.md is {len(text):,} characters; move details to docs/"
    assert "make          #" in text and "make test     #" in text
    linked = set(re.findall(r"`((?:docs|benchmarks|configs|replication)/[\w./]+\.(?:md|yaml|py|csv))`", text))
    assert {"docs/running.md", "docs/speed.md", "docs/parity.md", "docs/reliability.md", "docs/design.md"} <= linked
    assert not [p for p in linked if "*" not in p and not (ROOT / p).exists()]
