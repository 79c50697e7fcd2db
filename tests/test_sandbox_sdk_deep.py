"""The official SDK reads the new shapes of issue 18 the sandbox serves: wrap-up codes and
queues (``RoutingApi``), and every field known to its model (``sdk_problems``)."""

from __future__ import annotations

import pytest

from tests.test_sandbox_sdk import _raw, sdk_problems

pytestmark = pytest.mark.slow
sdk = pytest.importorskip("PureCloudPlatformClientV2")


@pytest.fixture(scope="module")
def api_client(sandbox):
    sdk.configuration.host = sandbox.base_url
    client = sdk.api_client.ApiClient(sandbox.base_url)
    return client.get_client_credentials_token(sandbox.client_id, sandbox.client_secret)


def test_sdk_reads_wrap_up_codes_and_queues(sandbox, api_client):
    routing = sdk.RoutingApi(api_client)
    codes = routing.get_routing_wrapupcodes(page_size=100)
    assert codes.total == len(codes.entities) > 5
    assert {c.name for c in codes.entities} >= {"Payment taken", "Cancelled", "Escalated"}
    queues = routing.get_routing_queues(page_size=100, name="Bill*")
    assert [q.name for q in queues.entities] == ["Billing"]
    one = routing.get_routing_wrapupcode(codes.entities[0].id)
    assert one.name == codes.entities[0].name
    by_id = routing.get_routing_wrapupcodes(id=[codes.entities[1].id])
    assert [c.id for c in by_id.entities] == [codes.entities[1].id]


def test_routing_json_has_only_fields_the_sdk_knows(sandbox):
    assert sdk_problems(_raw(sandbox, "/api/v2/routing/wrapupcodes", pageSize=100),
                        "WrapupCodeEntityListing") == []
    assert sdk_problems(_raw(sandbox, "/api/v2/routing/queues", pageSize=100),
                        "QueueEntityListing") == []
