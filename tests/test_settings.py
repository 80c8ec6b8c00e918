"""Every option is one field of a frozen value, checked once at construction: a misspelled
option names itself and the closest valid name, never an internal class."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

import auth_sessions
from auth_sessions import ConfigurationError, RetryPolicy
from auth_sessions._settings import Settings


def test_a_misspelled_option_of_the_factory_names_the_closest() -> None:
    with pytest.raises(ConfigurationError) as caught:
        auth_sessions.for_vendor("cobee", "id", "secret", leway=3)
    message = str(caught.value)
    assert message.startswith("cobee: unknown option leway=; did you mean leeway=?")
    assert "TokenEndpoint" not in message and "__init__" not in message
    assert isinstance(caught.value, ValueError) and not isinstance(caught.value, TypeError)


@pytest.mark.parametrize(
    ("wrong", "meant"),
    [("retires", "retries"), ("cooldwn", "cooldown"), ("token_deadlin", "token_deadline"),
     ("backround", "background")],
)  # fmt: skip
def test_the_factory_suggests_its_own_and_the_auths_options(wrong: str, meant: str) -> None:
    with pytest.raises(ConfigurationError, match=f"unknown option {wrong}=; did you mean {meant}="):
        auth_sessions.for_vendor("sohar", "id", "secret", **{wrong: 1})


def test_a_misspelled_option_of_an_auth_class_names_the_closest() -> None:
    with pytest.raises(
        ConfigurationError, match="unknown option enviroment=; did you mean environment="
    ):
        auth_sessions.OrumAuth("id", "secret", enviroment="sandbox")


def test_a_vendors_own_options_are_known_to_it_only() -> None:
    with pytest.raises(ConfigurationError, match="unknown option scope=") as caught:
        auth_sessions.for_vendor("cobee", "id", "secret", scope="read")
    assert "did you mean" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="did you mean scope="):
        auth_sessions.for_vendor(
            "oauth2", "id", "secret", token_url="https://idp.example/token", scop="read"
        )


def test_an_unknown_name_gets_the_list_when_nothing_is_close() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown option zzz= \(options: .*leeway"):
        auth_sessions.CobeeAuth("id", "secret", zzz=1)


def test_settings_are_one_frozen_value() -> None:
    auth = auth_sessions.CobeeAuth("id", "secret", leeway=5, cooldown=10)
    assert isinstance(auth.settings, Settings)
    assert (auth.settings.leeway, auth.settings.cooldown) == (5.0, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        auth.settings.leeway = 1  # type: ignore[misc]


def test_copies_and_pickles_keep_every_setting() -> None:
    retry = RetryPolicy(total=1)
    auth = auth_sessions.CobeeAuth("id", "secret", leeway=5, retry=retry, headers={"X-A": "1"})
    for clone in (copy.copy(auth), copy.deepcopy(auth), pickle.loads(pickle.dumps(auth))):
        assert clone.settings == auth.settings
        assert clone.headers["X-A"] == "1" and clone.settings.retry == retry


def test_a_vendor_is_a_value_and_the_attribute_form_still_describes_one() -> None:
    class Legacy(auth_sessions.TokenAuth):
        vendor = "legacy"
        environments = {"production": "https://legacy.example"}
        wire = auth_sessions.WireFormat(token_path="/t")
        default_headers = {"X-Legacy": "1"}

    assert Legacy.spec.name == "legacy" and Legacy.spec.wire.token_path == "/t"
    auth = Legacy("id", "secret")
    assert auth.token_url == "https://legacy.example/t" and auth.headers["X-Legacy"] == "1"
    cobee = auth_sessions.CobeeAuth.spec
    assert isinstance(cobee, auth_sessions.Vendor) and auth_sessions.CobeeAuth.vendor == cobee.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        cobee.name = "other"  # type: ignore[misc]
