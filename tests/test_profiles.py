import pytest

import thermo
from thermo.errors import ConfigError


def test_default_is_quick(monkeypatch):
    monkeypatch.delenv("THERMO_PROFILE", raising=False)
    assert thermo.profile() == "quick"


@pytest.mark.parametrize("name", ["smoke", "quick", "paper"])
def test_env_selects_profile(monkeypatch, name):
    monkeypatch.setenv("THERMO_PROFILE", name)
    assert thermo.profile() == name


def test_misspelled_profile_suggests_the_right_one(monkeypatch):
    monkeypatch.setenv("THERMO_PROFILE", "smoek")
    with pytest.raises(ConfigError, match=r"THERMO_PROFILE='smoek' is not valid.*Did you mean 'smoke'"):
        thermo.profile()
