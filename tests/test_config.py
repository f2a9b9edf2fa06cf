"""Settings: environment variables, and the README's table kept true."""

from pathlib import Path

from chairside.config import Settings, settings_table

ROOT = Path(__file__).resolve().parents[1]


def test_environment_overrides_defaults():
    s = Settings.from_env({"CHAIRSIDE_PORT": "9001", "CHAIRSIDE_PARTIAL_INTERVAL_S": "0.25", "CHAIRSIDE_LANGUAGE": "en"})
    assert (s.port, s.partial_interval_s, s.language) == (9001, 0.25, "en")
    assert Settings.from_env({}).port == 8000


def test_flags_override_the_environment():
    assert Settings.from_env({"CHAIRSIDE_PORT": "9001"}, port=9002).port == 9002


def test_models_dir_defaults_under_the_data_dir(tmp_path):
    s = Settings.from_env({"CHAIRSIDE_DATA_DIR": str(tmp_path)})
    assert s.models_path == tmp_path / "models"


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    for row in settings_table().splitlines()[2:]:
        assert row in readme, f"README configuration table is out of date: {row}"
