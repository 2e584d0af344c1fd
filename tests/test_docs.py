"""The README's layout names every module and config, so it stays true as files come and go."""

from conftest import ROOT


def layout() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Layout", 1)[1].split("```", 2)[1]


def test_layout_names_every_module_and_config():
    block = layout()
    modules = sorted(p.name for p in (ROOT / "replication").glob("*.py") if p.name != "__init__.py")
    configs = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))
    missing = [name for name in modules + configs if name not in block]
    assert not missing, f"README layout does not name: {missing}"


def test_the_config_schema_ships_with_the_package():
    from importlib import resources

    from replication.config.load import SCHEMA

    assert SCHEMA.exists() and resources.files("replication").joinpath("data", "config_schema.yaml").is_file()
    assert "data/*.yaml" in (ROOT / "pyproject.toml").read_text()
