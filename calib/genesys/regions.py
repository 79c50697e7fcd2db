"""Genesys Cloud regions: SDK names, AWS-style names and domains, and the URLs built from them.

The 18 regions are those of the platform SDKs' region-host tables (Python SDK
``purecloud_region_hosts.py``, JavaScript SDK ``PureCloudRegionHosts.js``); see
``genesys-api.md`` §1.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

__all__ = ["REGIONS", "Endpoints", "resolve_domain", "endpoints_for_region", "endpoints_for_base_url"]

#: SDK region name -> domain. Read-only.
REGIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "us_east_1": "mypurecloud.com",
        "eu_west_1": "mypurecloud.ie",
        "ap_southeast_2": "mypurecloud.com.au",
        "ap_northeast_1": "mypurecloud.jp",
        "eu_central_1": "mypurecloud.de",
        "us_west_2": "usw2.pure.cloud",
        "ca_central_1": "cac1.pure.cloud",
        "ap_northeast_2": "apne2.pure.cloud",
        "eu_west_2": "euw2.pure.cloud",
        "ap_south_1": "aps1.pure.cloud",
        "us_east_2": "use2.us-gov-pure.cloud",
        "sa_east_1": "sae1.pure.cloud",
        "me_central_1": "mec1.pure.cloud",
        "ap_northeast_3": "apne3.pure.cloud",
        "eu_central_2": "euc2.pure.cloud",
        "mx_central_1": "mxc1.pure.cloud",
        "ap_southeast_1": "apse1.pure.cloud",
        "eusc_de_east_1": "edee1.eusc-pure.cloud",
    }
)

_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class Endpoints:
    """Where the client sends API calls and where it gets tokens.

    Attributes
    ----------
    api_base_url : str
        Origin of the Platform API, without a trailing slash (``https://api.mypurecloud.ie``).
    token_url : str
        OAuth token endpoint (``https://login.mypurecloud.ie/oauth/token``).
    """

    api_base_url: str
    token_url: str


def resolve_domain(region: str) -> str:
    """Return the Genesys Cloud domain for a region given in any accepted spelling.

    Parameters
    ----------
    region : str
        An SDK name (``eu_west_1``), an AWS-style name (``eu-west-1``), or a domain
        (``mypurecloud.ie``, also with an ``api.``/``login.`` prefix). Case-insensitive.

    Returns
    -------
    str
        The bare domain, for example ``"mypurecloud.ie"``.

    Raises
    ------
    ValueError
        When the value is none of the 18 known regions or their domains.
    """
    if not isinstance(region, str) or not region.strip():
        raise ValueError(
            "The Genesys Cloud region is empty; set GENESYSCLOUD_REGION to a region such as "
            "'eu-west-1' or a domain such as 'mypurecloud.ie'."
        )
    text = region.strip().lower().rstrip("/")
    if "://" in text:
        text = urlsplit(text).hostname or ""
    name = text.replace("-", "_")
    if name in REGIONS:
        return REGIONS[name]
    for prefix in ("api.", "login."):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text in REGIONS.values():
        return text
    known = ", ".join(sorted(n.replace("_", "-") for n in REGIONS))
    raise ValueError(
        f"Unknown Genesys Cloud region {region!r}; use one of {known}, or the region's domain "
        "(for example 'mypurecloud.ie'), or set GENESYSCLOUD_API_REGION to a full base URL."
    )


def endpoints_for_region(region: str) -> Endpoints:
    """Return the API and token URLs of a Genesys Cloud region.

    Parameters
    ----------
    region : str
        Any spelling accepted by :func:`resolve_domain`.

    Returns
    -------
    Endpoints
        ``https://api.<domain>`` and ``https://login.<domain>/oauth/token``.
    """
    domain = resolve_domain(region)
    return Endpoints(api_base_url=f"https://api.{domain}", token_url=f"https://login.{domain}/oauth/token")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoints_for_base_url(base_url: str) -> Endpoints:
    """Return the endpoints for an explicit API base URL (``GENESYSCLOUD_API_REGION``).

    The token URL is the same origin's ``/oauth/token`` (as for the sandbox), except for a real
    region's ``api.<domain>`` host, whose tokens come from ``login.<domain>``.

    Parameters
    ----------
    base_url : str
        ``https://host[:port]``, or ``http://`` for a loopback host only (the client secret is
        sent to this origin, so plain HTTP is refused anywhere else). A bare ``api.<domain>`` host
        is read as HTTPS.

    Returns
    -------
    Endpoints

    Raises
    ------
    ValueError
        When the URL has no host, a path other than ``/``, or uses plain HTTP off loopback.
    """
    text = (base_url or "").strip()
    if not text:
        raise ValueError("The API base URL is empty; give a URL such as 'https://api.mypurecloud.ie'.")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"The API base URL {base_url!r} is not an http(s) URL with a host; give e.g. 'https://api.mypurecloud.ie'.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(
            f"The API base URL {base_url!r} has a path or query; give only the origin, e.g. 'https://api.mypurecloud.ie'."
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError(
            f"The API base URL {base_url!r} uses plain HTTP to a non-loopback host, which would send "
            "the client secret unencrypted; use https://."
        )
    origin = f"{parts.scheme}://{parts.netloc}"
    # A real region's API host (api.<domain>) takes its tokens from login.<domain>, as the SDKs do.
    if host.startswith("api.") and host[len("api."):] in REGIONS.values() and parts.port is None:
        return Endpoints(api_base_url=origin, token_url=f"{parts.scheme}://login.{host[len('api.'):]}/oauth/token")
    return Endpoints(api_base_url=origin, token_url=f"{origin}/oauth/token")
