"""Region spellings, base-URL overrides and building the client from the environment."""

from __future__ import annotations

import pytest

from calib.genesys import GenesysClient, regions

# genesys-api.md §1 (PY purecloud_region_hosts.py, JS PureCloudRegionHosts.js)
SPEC_REGIONS = {
    "us_east_1": "mypurecloud.com", "eu_west_1": "mypurecloud.ie", "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp", "eu_central_1": "mypurecloud.de", "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud", "ap_northeast_2": "apne2.pure.cloud", "eu_west_2": "euw2.pure.cloud",
    "ap_south_1": "aps1.pure.cloud", "us_east_2": "use2.us-gov-pure.cloud", "sa_east_1": "sae1.pure.cloud",
    "me_central_1": "mec1.pure.cloud", "ap_northeast_3": "apne3.pure.cloud", "eu_central_2": "euc2.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud", "ap_southeast_1": "apse1.pure.cloud",
    "eusc_de_east_1": "edee1.eusc-pure.cloud",
}


def test_all_18_regions_are_known() -> None:
    assert dict(regions.REGIONS) == SPEC_REGIONS


@pytest.mark.parametrize(("name", "domain"), sorted(SPEC_REGIONS.items()))
def test_every_spelling_resolves_to_the_domain(name: str, domain: str) -> None:
    for spelling in (name, name.replace("_", "-"), name.upper(), domain, f"api.{domain}", f" {domain} "):
        assert regions.resolve_domain(spelling) == domain, spelling
    endpoints = regions.endpoints_for_region(name.replace("_", "-"))
    assert endpoints.api_base_url == f"https://api.{domain}"
    assert endpoints.token_url == f"https://login.{domain}/oauth/token"


@pytest.mark.parametrize("bad", ["eu-west-9", "example.com", "", "   "])
def test_unknown_region_is_refused_with_the_choices(bad: str) -> None:
    with pytest.raises(ValueError, match="eu-west-1"):
        regions.resolve_domain(bad)


def test_loopback_base_url_takes_tokens_from_the_same_origin() -> None:
    endpoints = regions.endpoints_for_base_url("http://127.0.0.1:8123/")
    assert endpoints == regions.Endpoints("http://127.0.0.1:8123", "http://127.0.0.1:8123/oauth/token")


def test_real_api_host_as_base_url_takes_tokens_from_login() -> None:
    endpoints = regions.endpoints_for_base_url("https://api.mypurecloud.ie")
    assert endpoints.token_url == "https://login.mypurecloud.ie/oauth/token"


@pytest.mark.parametrize("bad", ["http://10.0.0.5:8080", "ftp://127.0.0.1", "https://api.mypurecloud.ie/api/v2", "https://"])
def test_unsafe_or_malformed_base_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        regions.endpoints_for_base_url(bad)


def test_from_env_reads_region_and_lets_api_region_override() -> None:
    env = {"GENESYSCLOUD_OAUTHCLIENT_ID": "id-1", "GENESYSCLOUD_OAUTHCLIENT_SECRET": "sec-1",
           "GENESYSCLOUD_REGION": "eu-central-1"}
    assert GenesysClient.from_env(env).base_url == "https://api.mypurecloud.de"
    env["GENESYSCLOUD_API_REGION"] = "http://localhost:9999"
    client = GenesysClient.from_env(env)
    assert (client.base_url, client.token_url) == ("http://localhost:9999", "http://localhost:9999/oauth/token")


def test_from_env_names_every_missing_variable() -> None:
    with pytest.raises(ValueError) as info:
        GenesysClient.from_env({"GENESYSCLOUD_OAUTHCLIENT_SECRET": "sec-1"})
    text = str(info.value)
    assert "GENESYSCLOUD_OAUTHCLIENT_ID" in text and "GENESYSCLOUD_REGION" in text
    assert "GENESYSCLOUD_OAUTHCLIENT_SECRET" not in text.split("missing")[1].split(".")[0]
    assert "sec-1" not in text


@pytest.mark.parametrize("kwargs", [
    {"timeout": 0}, {"timeout": (1, -1)}, {"max_retries": -1}, {"max_retry_wait": -5}, {},
])
def test_constructor_refuses_bad_settings(kwargs: dict) -> None:
    if kwargs:
        kwargs = {"region": "eu-west-1", **kwargs}
    with pytest.raises(ValueError):
        GenesysClient("id-1", "sec-1", **kwargs)


def test_importing_errors_and_regions_does_not_load_requests() -> None:
    import subprocess
    import sys

    code = "import sys; from calib.genesys import errors, regions; print('requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
