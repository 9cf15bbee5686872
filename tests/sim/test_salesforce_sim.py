"""Self-tests of the Salesforce simulator (REST, OAuth JWT bearer, Pub/Sub gRPC).
Run: cd /work/main && /usr/bin/python3 -m pytest -q tests/sim/test_salesforce_sim.py"""

import time

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sf_ids import to18
from sf_testclient import Subscription, http, pb2

A1, A3, A4 = "0015F0000000001QAA", "0015F0000000003QAA", "0015F0000000004QAA"
PORTAL_PB = "01s5F0000000002QAA"
ORDER_A4_PENDING, ORDER_A3_SIM, ORDER_A5_FAILED = "8015F0000000006QAA", "8015F0000000005QAA", "8015F0000000007QAA"
PBE_FTTH_1G, PBE_STD_FTTH_1G = "01u5F0000000014QAA", "01u5F0000000001QAA"
PROVISION = "/event/OrderProvisionRequested__e"


def new_order_body(**extra):
    body = {"AccountId": A1, "EffectiveDate": "2026-11-20", "Status": "Pending Review", "Pricebook2Id": PORTAL_PB,
            "Activation_Status__c": "Not Started", "Order_Type__c": "Internet"}
    body.update(extra)
    return body


# --- OAuth JWT bearer ------------------------------------------------------------------

def test_token_success_shape(sf):
    status, body = sf.login()
    assert status == 200
    assert set(body) >= {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert body["token_type"] == "Bearer" and body["instance_url"] == sf.base
    assert body["access_token"].startswith(sf.org["org_id"][:15] + "!")
    assert body["id"] == "%s/id/%s/%s" % (sf.base, sf.org["org_id"], sf.org["user_id"])


@pytest.mark.parametrize("override,error,description", [
    ({"aud": "https://login.salesforce.com"}, "invalid_grant", "audience is invalid"),
    ({"exp": time.time() - 10}, "invalid_grant", "expired authorization code"),
    ({"iss": "not-the-consumer-key"}, "invalid_client_id", "client identifier invalid"),
    ({"sub": "someone@else.test"}, "invalid_grant", "user hasn't approved this consumer"),
])
def test_token_claim_errors(sf, override, error, description):
    status, body = sf.login(**override)
    assert status == 400 and body == {"error": error, "error_description": description}


def test_token_wrong_key_is_invalid_assertion(sf):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    status, body = sf.login(key=other)
    assert status == 400 and body == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_token_bad_grant_type_and_garbage(sf):
    url = sf.base + "/services/oauth2/token"
    status, _, body = http("POST", url, form={"grant_type": "password", "assertion": "x"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, _, body = http("POST", url, form={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                               "assertion": "not.a.jwt"})
    assert (status, body) == (400, {"error": "invalid_grant", "error_description": "invalid assertion"})


def test_session_errors_and_expiry(sf):
    assert sf.query("SELECT Id FROM Account")[0] == 200
    status, _, body = http("GET", sf.base + "/services/data/v62.0/query?q=SELECT+Id+FROM+Account")
    assert status == 401 and body[0]["errorCode"] == "INVALID_AUTH_HEADER"
    status, _, body = sf.rest("GET", "query?q=x", headers={"Authorization": "Bearer 00Dbogus!token"})
    assert (status, body) == (401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    sf.control("POST", "/__sim/tokens/expire")
    status, _, body = sf.query("SELECT Id FROM Account")
    assert status == 401 and body[0]["errorCode"] == "INVALID_SESSION_ID"


def test_versions_and_limit_header(sf):
    status, _, body = http("GET", sf.base + "/services/data/")
    assert status == 200 and any(v["version"] == "62.0" for v in body)
    status, headers, _ = sf.query("SELECT Id FROM Account")
    assert headers["Sforce-Limit-Info"].startswith("api-usage=")


# --- SOQL --------------------------------------------------------------------------------

def test_query_relationships_and_canonical_names(sf):
    status, _, body = sf.query("select id, casenumber, account.name from CASE where accountid = '%s' "
                               "order by createddate desc" % A1[:15])
    assert status == 200 and body["totalSize"] == 2 and body["done"] is True
    rec = body["records"][0]
    assert rec["attributes"] == {"type": "Case", "url": "/services/data/v62.0/sobjects/Case/%s" % rec["Id"]}
    assert rec["CaseNumber"] == "00001001" and rec["Account"]["Name"] == "Yamada Taro"
    status, _, body = sf.query("SELECT Id, PricebookEntry.Product2.Name, Product2.StockKeepingUnit, "
                               "Product2.WH_Product_ID__c FROM OrderItem WHERE OrderId = '8015F0000000001QAA'")
    assert body["records"][0]["PricebookEntry"]["Product2"]["Name"] == "Fiber 1 Gbps"
    assert body["records"][0]["Product2"]["WH_Product_ID__c"] == 1.0


def test_query_child_subquery_null_when_empty(sf):
    status, _, body = sf.query("SELECT Id, (SELECT Id, CommentBody FROM CaseComments WHERE IsPublished = true "
                               "ORDER BY CreatedDate ASC) FROM Case WHERE AccountId IN ('%s', '%s') "
                               "ORDER BY CaseNumber" % (A1, A3))
    recs = body["records"]
    assert recs[0]["CaseComments"]["totalSize"] == 2 and recs[0]["CaseComments"]["done"] is True
    assert recs[2]["CaseComments"] is None  # A3's case has only an unpublished comment


def test_query_count_where_and_order(sf):
    status, _, body = sf.query("SELECT COUNT() FROM Order WHERE Status != 'Draft' AND "
                               "(Activation_Status__c = 'Failed' OR Order_Type__c = 'SIM')")
    assert body == {"totalSize": 4, "done": True, "records": []}
    status, _, body = sf.query("SELECT Id, WH_Product_ID__c FROM Product2 WHERE Portal_Catalog__c = true AND "
                               "NOT Name LIKE 'SIM%' ORDER BY WH_Product_ID__c DESC NULLS LAST LIMIT 3 OFFSET 1")
    assert [r["WH_Product_ID__c"] for r in body["records"]] == [20.0, 6.0, 5.0]
    status, _, body = sf.query("SELECT Id FROM Product2 WHERE WH_Product_ID__c = null")
    assert body["totalSize"] == 1
    status, _, body = sf.query("SELECT Id FROM Order WHERE EffectiveDate >= 2026-11-01 AND "
                               "CreatedDate < 2026-11-06T00:00:00Z")
    assert body["totalSize"] == 3


def test_query_escapes(sf):
    sf.rest("PATCH", "sobjects/Account/" + A4, {"Name": "O'Brien \\ \"Co\"\n50%_off"})
    status, _, body = sf.query("SELECT Id FROM Account WHERE Name = 'o\\'brien \\\\ \\\"co\\\"\\n50%_off'")
    assert status == 200 and body["totalSize"] == 1
    status, _, body = sf.query("SELECT Id FROM Account WHERE Name LIKE '%50\\%\\_off'")
    assert body["totalSize"] == 1
    status, _, body = sf.query("SELECT Id FROM Account WHERE Name LIKE '%50\\%\\_of'")
    assert body["totalSize"] == 0


@pytest.mark.parametrize("soql,code", [
    ("SELECT Id FRM Account", "MALFORMED_QUERY"),
    ("", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'O'Brien'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'a\\qb'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = '50\\%'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
    ("SELECT Id, Foo FROM Account", "INVALID_FIELD"),
    ("SELECT Id, Acount.Name FROM Case", "INVALID_FIELD"),
    ("SELECT Id FROM Foo", "INVALID_TYPE"),
    ("SELECT Id FROM Order WHERE EffectiveDate > '2026-01-01'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Order WHERE AccountId = 'nope'", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_query_errors(sf, soql, code):
    status, _, body = sf.query(soql)
    assert status == 400 and body[0]["errorCode"] == code and "message" in body[0]
    if soql == "SELECT Id FRM Account":
        assert body[0]["message"] == "unexpected token: 'FRM'"


def test_query_paging(sf):
    status, _, body = sf.query("SELECT Id FROM PricebookEntry ORDER BY Id")
    seen = list(body["records"])
    assert body["totalSize"] == 26 and body["done"] is False and len(seen) == 3
    assert body["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    while not body["done"]:
        status, _, body = sf.rest("GET", body["nextRecordsUrl"])
        assert status == 200 and body["totalSize"] == 26
        seen += body["records"]
    assert "nextRecordsUrl" not in body and len({r["Id"] for r in seen}) == 26
    status, _, body = sf.rest("GET", "/services/data/v62.0/query/01gBOGUS-3")
    assert status == 400 and body[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_includes_deleted(sf):
    status, _, body = sf.rest("DELETE", "sobjects/CaseComment/00a5F0000000002QAA")
    assert status == 204
    q = "SELECT Id, IsDeleted FROM CaseComment WHERE ParentId = '5005F0000000001QAA'"
    assert sf.query(q)[2]["totalSize"] == 2
    body = sf.query(q, all_rows=True)[2]
    assert body["totalSize"] == 3 and any(r["IsDeleted"] for r in body["records"])


# --- sObjects ------------------------------------------------------------------------------

def test_sobject_create_get_update_delete(sf):
    status, _, body = sf.rest("POST", "sobjects/Case/", {"Subject": "Help", "AccountId": A1, "Origin": "Portal Website",
                                                          "Type": "Billing", "Priority": "Low"})
    assert status == 201 and body["success"] is True and body["errors"] == []
    cid = body["id"]
    assert cid.startswith("500") and len(cid) == 18 and to18(cid[:15]) == cid
    status, _, rec = sf.rest("GET", "sobjects/Case/%s?fields=Status,CaseNumber,Priority" % cid[:15])
    assert status == 200 and rec["Status"] == "New" and rec["CaseNumber"] == "00001005" and set(rec) == {
        "attributes", "Status", "CaseNumber", "Priority"}
    assert sf.rest("PATCH", "sobjects/Case/" + cid, {"Status": "Closed"})[0] == 204
    rec = sf.rest("GET", "sobjects/Case/" + cid)[2]
    assert rec["IsClosed"] is True and rec["ClosedDate"]
    assert sf.rest("DELETE", "sobjects/Case/" + cid)[0] == 204
    status, _, body = sf.rest("GET", "sobjects/Case/" + cid)
    assert status == 404 and body[0]["errorCode"] == "NOT_FOUND"
    status, _, body = sf.rest("PATCH", "sobjects/Case/" + cid, {"Status": "New"})
    assert status == 404 and body[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_sobject_lookup_errors(sf):
    status, _, body = sf.rest("GET", "sobjects/Order/8015F0000000999")
    assert (status, body[0]["errorCode"]) == (404, "NOT_FOUND")
    status, _, body = sf.rest("GET", "sobjects/Order/bogus")
    assert status == 404 and "Provided external ID field" in body[0]["message"]
    status, _, body = sf.rest("GET", "sobjects/Nope/8015F0000000001")
    assert (status, body[0]["errorCode"]) == (404, "NOT_FOUND")
    status, _, rec = sf.rest("GET", "sobjects/Account/Customer_Number__c/CN10000003")
    assert status == 200 and rec["Id"] == A3


@pytest.mark.parametrize("body,code,fields", [
    ({"Bogus__c": 1}, "INVALID_FIELD", None),
    ({"OrderNumber": "1"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["OrderNumber"]),
    ({"Status": "Provisioned"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
    ({"EffectiveDate": None}, "REQUIRED_FIELD_MISSING", ["EffectiveDate"]),
    ({"Activation_Error_Code__c": "X" * 41}, "STRING_TOO_LONG", ["Activation_Error_Code__c"]),
    ({"AccountId": "001xx"}, "MALFORMED_ID", ["AccountId"]),
    ({"EffectiveDate": "20 Nov"}, "JSON_PARSER_ERROR", ["EffectiveDate"]),
])
def test_order_validation(sf, body, code, fields):
    status, _, err = sf.rest("POST", "sobjects/Order", new_order_body(**body))
    assert status == 400 and err[0]["errorCode"] == code
    if fields is not None:
        assert err[0]["fields"] == fields


def test_unique_fields(sf):
    key = A1 + ":checkout-1"
    assert sf.rest("POST", "sobjects/Order", new_order_body(Portal_Idempotency_Key__c=key))[0] == 201
    status, _, err = sf.rest("POST", "sobjects/Order", new_order_body(Portal_Idempotency_Key__c=key))
    assert status == 400 and err[0]["errorCode"] == "DUPLICATE_VALUE"
    status, _, err = sf.rest("PATCH", "sobjects/Account/" + A1, {"Customer_Number__c": "CN10000002"})
    assert status == 400 and err[0]["errorCode"] == "DUPLICATE_VALUE"


def test_order_activation_needs_items_and_status_code(sf):
    oid = sf.rest("POST", "sobjects/Order", new_order_body())[2]["id"]
    status, _, err = sf.rest("PATCH", "sobjects/Order/" + oid, {"Status": "Activated"})
    assert status == 400 and err[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    rec = sf.rest("GET", "sobjects/Order/%s?fields=StatusCode,OrderNumber,TotalAmount" % oid)[2]
    assert rec["StatusCode"] == "Draft" and rec["OrderNumber"] == "00000110" and rec["TotalAmount"] == 0.0
    sf.rest("POST", "sobjects/OrderItem", {"OrderId": oid, "PricebookEntryId": PBE_FTTH_1G, "Quantity": 2,
                                           "UnitPrice": 5280})
    assert sf.rest("PATCH", "sobjects/Order/" + oid, {"Status": "Activated"})[0] == 204
    rec = sf.rest("GET", "sobjects/Order/" + oid)[2]
    assert rec["StatusCode"] == "Activated" and rec["TotalAmount"] == 10560.0 and rec["ActivatedDate"]


# --- composite -------------------------------------------------------------------------------

def composite_body(item_entry=PBE_FTTH_1G, all_or_none=True):
    return {"allOrNone": all_or_none, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Order", "referenceId": "refOrder",
         "body": new_order_body()},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/OrderItem", "referenceId": "refItem0",
         "body": {"OrderId": "@{refOrder.id}", "PricebookEntryId": item_entry, "Quantity": 1, "UnitPrice": 5280}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Order/@{refOrder.id}?fields=TotalAmount",
         "referenceId": "refRead"}]}


def test_composite_order_with_items(sf):
    status, _, body = sf.rest("POST", "composite", composite_body())
    assert status == 200
    order, item, read = body["compositeResponse"]
    assert order["httpStatusCode"] == 201 and order["body"]["success"] is True
    assert order["httpHeaders"]["Location"] == "/services/data/v62.0/sobjects/Order/" + order["body"]["id"]
    assert item["httpStatusCode"] == 201 and item["body"]["id"].startswith("802")
    assert read["body"]["TotalAmount"] == 5280.0


def test_composite_all_or_none_rolls_back(sf):
    before = sf.query("SELECT COUNT() FROM Order")[2]["totalSize"]
    status, _, body = sf.rest("POST", "composite", composite_body(item_entry=PBE_STD_FTTH_1G))
    assert status == 200
    order, item, read = body["compositeResponse"]
    assert item["httpStatusCode"] == 400 and item["body"][0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert item["body"][0]["fields"] == ["PricebookEntryId"]
    for other in (order, read):
        assert other["httpStatusCode"] == 400 and other["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.query("SELECT COUNT() FROM Order")[2]["totalSize"] == before
    status, _, body = sf.rest("POST", "composite", {"compositeRequest": [{"method": "GET", "url": "/x"}]})
    assert status == 400


def test_collections_create(sf):
    oid = sf.rest("POST", "sobjects/Order", new_order_body())[2]["id"]
    status, _, body = sf.rest("POST", "composite/sobjects", {"allOrNone": True, "records": [
        {"attributes": {"type": "OrderItem"}, "OrderId": oid, "PricebookEntryId": PBE_FTTH_1G, "Quantity": 1,
         "UnitPrice": 5280}]})
    assert status == 200 and body[0]["success"] is True and body[0]["id"].startswith("802")


# --- faults and control API -------------------------------------------------------------------

def test_fault_status_count_and_calls(sf):
    sf.control("POST", "/__sim/faults", {"match": "query", "status": 503, "count": 2,
                                         "body": [{"message": "Server Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]})
    assert sf.query("SELECT Id FROM Account")[0] == 503
    assert sf.query("SELECT Id FROM Account")[2][0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Account")[0] == 200
    sf.control("POST", "/__sim/faults", {"match": "^/services/data/v[0-9.]+/sobjects/Order", "status": 500})
    assert sf.rest("GET", "sobjects/Order/" + ORDER_A4_PENDING)[0] == 500
    calls = sf.control("GET", "/__sim/calls")[2]
    assert [c["status"] for c in calls if c["action"] == "query"] == [503, 503, 200]
    assert calls[-1]["action"] == "sobject.GET.Order" and calls[0]["action"] == "token"


def test_fault_delay_and_drop(sf):
    sf.control("POST", "/__sim/faults", {"match": "sobject.PATCH.Order", "delay_ms": 400})
    t0 = time.monotonic()
    assert sf.rest("PATCH", "sobjects/Order/" + ORDER_A4_PENDING, {"Description": "x"})[0] == 204
    assert time.monotonic() - t0 >= 0.4
    sf.control("POST", "/__sim/faults", {"match": "token", "drop": True})
    with pytest.raises(Exception):
        sf.login()
    assert sf.login()[0] == 200
    sf.control("POST", "/__sim/faults", {"match": "composite", "status": 503, "count": -1})
    sf.control("DELETE", "/__sim/faults")
    assert sf.rest("POST", "composite", composite_body())[0] == 200


def test_reset_and_state(sf):
    sf.rest("PATCH", "sobjects/Account/" + A1, {"Portal_Status__c": "Active"})
    state = sf.control("GET", "/__sim/state")[2]
    assert {"Account", "Order", "OrderItem", "Case", "CaseComment", "events"} <= set(state)
    assert len(state["Account"]) == 7
    sf.control("POST", "/__sim/reset")
    assert sf.control("GET", "/__sim/calls")[2] == []
    assert sf.rest("GET", "sobjects/Account/" + A1)[2]["Portal_Status__c"] == "Not Registered"


# --- Flow and CDC (checked through /__sim/state's decoded events) ------------------------------

def events(sf, topic):
    return sf.control("GET", "/__sim/state")[2]["events"][topic]


def test_flow_publishes_only_on_change(sf):
    assert sf.rest("PATCH", "sobjects/Order/" + ORDER_A4_PENDING, {"Status": "Approved"})[0] == 204
    evs = events(sf, PROVISION)
    assert len(evs) == 1 and evs[0]["fields"]["OrderId__c"] == ORDER_A4_PENDING
    rec = sf.rest("GET", "sobjects/Order/" + ORDER_A4_PENDING)[2]
    assert rec["Activation_Status__c"] == "Activating"
    sf.rest("PATCH", "sobjects/Order/" + ORDER_A4_PENDING, {"Status": "Approved", "Activation_Status__c": "Activating"})
    sf.rest("PATCH", "sobjects/Order/" + ORDER_A4_PENDING, {"Activation_Last_Attempt__c": "2026-11-20T01:00:00Z"})
    assert len(events(sf, PROVISION)) == 1
    sf.rest("PATCH", "sobjects/Order/" + ORDER_A5_FAILED, {"Activation_Status__c": "Activating"})
    evs = events(sf, PROVISION)
    assert len(evs) == 2 and evs[1]["fields"]["OrderId__c"] == ORDER_A5_FAILED
    rec = sf.rest("GET", "sobjects/Order/" + ORDER_A5_FAILED)[2]
    assert rec["Activation_Error_Code__c"] is None and rec["Activation_Error_Message__c"] is None


def test_cdc_header_and_bitmaps(sf):
    sf.control("PATCH", "/__sim/sobjects/Product2/01t5F0000000001QAA", {"Name": "Fiber 1G (new)"})
    ev = events(sf, "/data/Product2ChangeEvent")[0]["fields"]
    header = ev["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE" and header["entityName"] == "Product2"
    assert header["recordIds"] == ["01t5F0000000001QAA"] and header["changedFields"] == ["0x82"]
    assert header["transactionKey"] and header["commitTimestamp"] > 0 and ev["Name"] == "Fiber 1G (new)"
    sf.rest("PATCH", "sobjects/Order/" + ORDER_A4_PENDING, {"ShippingCity": "Kyoto", "Description": "not in CDC",
                                                           "WHMCS_Order_ID__c": None})
    ev = events(sf, "/data/OrderChangeEvent")[-1]["fields"]
    assert ev["ChangeEventHeader"]["changedFields"] == ["0x80", "4-0x02"]
    assert ev["ShippingAddress"]["City"] == "Kyoto"
    oid = sf.rest("POST", "sobjects/Order", new_order_body())[2]["id"]
    sf.rest("DELETE", "sobjects/Order/" + oid)
    kinds = [e["fields"]["ChangeEventHeader"]["changeType"] for e in events(sf, "/data/OrderChangeEvent")]
    assert kinds[-2:] == ["CREATE", "DELETE"]


def test_operator_actions(sf):
    status, _, body = sf.control("POST", "/__sim/orders/%s/approve" % ORDER_A3_SIM, {})
    assert status == 200 and body["order"]["SIM_MSISDN__c"] == "08012349901" and body["event"]["replay_id"]
    assert body["order"]["Status"] == "Approved" and body["order"]["Activation_Status__c"] == "Activating"
    status, _, body = sf.control("POST", "/__sim/orders/%s/retry" % ORDER_A3_SIM)
    assert (status, body["error"]) == (409, "Already in progress")
    status, _, body = sf.control("POST", "/__sim/orders/%s/retry" % ORDER_A5_FAILED)
    assert status == 200 and body["event"]
    status, _, body = sf.control("POST", "/__sim/orders/8015F0000000009QAA/approve", {"msisdn": "08012349905"})
    assert body["order"]["SIM_MSISDN__c"] == "08012349905"
    status, _, body = sf.control("POST", "/__sim/events/AccountEligibilityChanged__e", {"AccountId__c": A1})
    assert status == 200 and len(bytes.fromhex(body["replay_id"])) == 8
    assert sf.control("POST", "/__sim/events/Nope__e", {})[0] == 404


# --- Pub/Sub gRPC ------------------------------------------------------------------------------

def next_events(sub, timeout=5):
    """The next response that carries events (skipping keepalives)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        resp = sub.next_response(timeout)
        if not isinstance(resp, pb2.FetchResponse):
            raise AssertionError("stream ended: %r" % (resp,))
        if resp.events:
            return resp
    raise AssertionError("no events")


def approve(sf, order=ORDER_A4_PENDING):
    return sf.control("POST", "/__sim/orders/%s/approve" % order, {})[2]


def test_pubsub_topic_schema_and_auth(sf):
    stub = sf.stub()
    info = stub.GetTopic(pb2.TopicRequest(topic_name=PROVISION), metadata=sf.metadata())
    assert info.can_publish and info.can_subscribe and info.tenant_guid == sf.org["org_id"]
    assert len(info.schema_id) == 22
    schema = stub.GetSchema(pb2.SchemaRequest(schema_id=info.schema_id), metadata=sf.metadata())
    assert '"OrderId__c"' in schema.schema_json
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetTopic(pb2.TopicRequest(topic_name="/event/Nope__e"), metadata=sf.metadata())
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetTopic(pb2.TopicRequest(topic_name=PROVISION), metadata=sf.metadata(token="00Dbad!x"))
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert dict(exc.value.trailing_metadata())["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"


def test_subscribe_latest_and_decode_approve(sf):
    stub = sf.stub()
    approve(sf, ORDER_A3_SIM)  # before subscribing: LATEST must not deliver it
    sub = Subscription(sf, stub, PROVISION, pb2.LATEST, num_requested=5)
    sf.wait_streams(1)
    approve(sf)
    resp = next_events(sub)
    assert len(resp.events) == 1 and resp.pending_num_requested == 4
    fields = sf.decode(stub, resp.events[0])
    assert fields["OrderId__c"] == ORDER_A4_PENDING and fields["Version__c"] == 1.0
    assert len(resp.events[0].replay_id) == 8 and resp.latest_replay_id == resp.events[0].replay_id
    sub.close()


def test_subscribe_earliest_custom_and_flow_control(sf):
    stub = sf.stub()
    ids = [sf.control("POST", "/__sim/events/AccountEligibilityChanged__e", {"AccountId__c": "0015F00000000%02dQAA" % n})
           [2]["replay_id"] for n in range(5)]
    assert ids == sorted(ids)
    topic = "/event/AccountEligibilityChanged__e"
    sub = Subscription(sf, stub, topic, pb2.EARLIEST, num_requested=2)
    got = list(next_events(sub).events)
    while len(got) < 2:
        got += next_events(sub).events
    assert [e.replay_id.hex() for e in got] == ids[:2]
    time.sleep(0.5)  # nothing more may come: no credit left (keepalives need credit too)
    with pytest.raises(TimeoutError):
        sub.next_response(timeout=1.5)
    sub.request(10)
    got = []
    while len(got) < 3:
        got += next_events(sub).events
    assert [e.replay_id.hex() for e in got] == ids[2:]
    sub.close()
    sub = Subscription(sf, stub, topic, pb2.CUSTOM, replay_id=bytes.fromhex(ids[2]), num_requested=10)
    assert [e.replay_id.hex() for e in next_events(sub).events] == ids[3:]
    sub.close()


def test_keepalive_when_idle(sf):
    sub = Subscription(sf, sf.stub(), PROVISION, pb2.LATEST, num_requested=3)
    resp = sub.next_response(timeout=4)
    assert isinstance(resp, pb2.FetchResponse) and not resp.events
    assert len(resp.latest_replay_id) == 8 and resp.pending_num_requested == 3
    sub.close()


def test_idle_close_without_credit(sf):
    sf.control("POST", "/__sim/events/AccountEligibilityChanged__e", {"AccountId__c": A1})
    sub = Subscription(sf, sf.stub(), "/event/AccountEligibilityChanged__e", pb2.EARLIEST, num_requested=1)
    next_events(sub)
    end = sub.next_response(timeout=6)
    assert isinstance(end, grpc.RpcError) and end.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("replay,suffix", [
    (b"\x01\x02", "replayid.validation.failed"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x01", "replayid.corrupted"),
    (b"\x7f" * 8, "replayid.corrupted"),
])
def test_bad_replay_ids(sf, replay, suffix):
    sub = Subscription(sf, sf.stub(), PROVISION, pb2.CUSTOM, replay_id=replay, num_requested=1)
    end = sub.next_response()
    assert isinstance(end, grpc.RpcError) and end.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(end.trailing_metadata())["error-code"].endswith(suffix)


def test_retention_expires_replay_id(sf):
    old = approve(sf)["event"]["replay_id"]
    sf.control("POST", "/__sim/pubsub/age", {"seconds": 72 * 3600 + 1})
    state = sf.control("GET", "/__sim/pubsub/state")[2]
    assert state["topics"][PROVISION]["count"] == 0
    sub = Subscription(sf, sf.stub(), PROVISION, pb2.CUSTOM, replay_id=bytes.fromhex(old), num_requested=1)
    end = sub.next_response()
    assert isinstance(end, grpc.RpcError) and end.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(end.trailing_metadata())["error-code"].endswith("replayid.corrupted")
    # the floor (the newest purged id, of any topic) is still a valid start: nothing after it was lost
    floor = bytes.fromhex(state["floor"])
    sub = Subscription(sf, sf.stub(), PROVISION, pb2.CUSTOM, replay_id=floor, num_requested=1)
    assert isinstance(sub.next_response(timeout=4), pb2.FetchResponse)
    sub.close()


def test_drop_and_resume_without_loss(sf):
    stub = sf.stub()
    sub = Subscription(sf, stub, PROVISION, pb2.LATEST, num_requested=10)
    sf.wait_streams(1)
    approve(sf)
    first = next_events(sub).events[0]
    cursor = first.replay_id
    sf.control("POST", "/__sim/pubsub/drop", {})
    end = sub.next_response()
    while isinstance(end, pb2.FetchResponse):
        end = sub.next_response()
    assert isinstance(end, grpc.RpcError) and end.code() == grpc.StatusCode.UNAVAILABLE
    missed = sf.control("POST", "/__sim/orders/%s/retry" % ORDER_A5_FAILED)[2]["event"]  # while disconnected
    sub = Subscription(sf, stub, PROVISION, pb2.CUSTOM, replay_id=cursor, num_requested=10)
    resp = next_events(sub)
    assert resp.events[0].replay_id.hex() == missed["replay_id"]
    assert sf.decode(stub, resp.events[0])["OrderId__c"] == ORDER_A5_FAILED
    state = sf.control("GET", "/__sim/pubsub/state")[2]
    assert state["streams"][0]["topic"] == PROVISION and state["streams"][0]["delivered"] == 1
    sub.close()


def test_subscribe_fault_and_cdc_over_grpc(sf):
    sf.control("POST", "/__sim/faults", {"match": "/eventbus.v1.PubSub/Subscribe", "grpc_status": 14})
    sub = Subscription(sf, sf.stub(), "/data/Product2ChangeEvent", pb2.LATEST, num_requested=5)
    end = sub.next_response()
    assert isinstance(end, grpc.RpcError) and end.code() == grpc.StatusCode.UNAVAILABLE
    sub = Subscription(sf, sf.stub(), "/data/Product2ChangeEvent", pb2.LATEST, num_requested=5)
    sf.wait_streams(1)
    sf.control("PATCH", "/__sim/sobjects/Product2/01t5F0000000006QAA", {"WH_Product_ID__c": None})
    fields = sf.decode(sf.stub(), next_events(sub).events[0])
    assert fields["ChangeEventHeader"]["nulledFields"] == ["0x4000"]
    calls = [c for c in sf.control("GET", "/__sim/calls")[2] if c["method"] == "GRPC"]
    assert calls[0]["status"] == 14 and calls[1]["status"] == 0
    sub.close()


def test_grpc_publish(sf):
    stub = sf.stub()
    topic = stub.GetTopic(pb2.TopicRequest(topic_name="/event/AccountEligibilityChanged__e"), metadata=sf.metadata())
    resp = stub.Publish(pb2.PublishRequest(topic_name=topic.topic_name, events=[
        pb2.ProducerEvent(id="ev-1", schema_id=topic.schema_id, payload=b"\x00\x00\x00")]), metadata=sf.metadata())
    assert len(resp.results[0].replay_id) == 8 and resp.results[0].correlation_key == "ev-1"


def test_composite_without_all_or_none_skips_dependents(sf):
    body = composite_body(item_entry=PBE_STD_FTTH_1G, all_or_none=False)
    body["compositeRequest"][0]["body"]["Status"] = "Bogus"
    order, item, read = sf.rest("POST", "composite", body)[2]["compositeResponse"]
    assert order["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert item["httpStatusCode"] == 400 and item["body"][0]["errorCode"] == "PROCESSING_HALTED"


def test_get_schema_blank_id(sf):
    with pytest.raises(grpc.RpcError) as exc:
        sf.stub().GetSchema(pb2.SchemaRequest(schema_id=""), metadata=sf.metadata())
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
