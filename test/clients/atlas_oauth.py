"""Service-account flow with Python requests: client credentials for a token, then Bearer calls.

Usage: atlas_oauth.py BASE_URL CLIENT_ID CLIENT_SECRET GROUP_ID [CA_FILE]
Prints one JSON line per API response: method, url, status, headers, text.
"""
import json
import sys

import requests

base, client_id, client_secret, group = sys.argv[1:5]
verify = sys.argv[5] if len(sys.argv) > 5 else True

token = requests.post(
    base + "/api/oauth/token",
    auth=(client_id, client_secret),
    data={"grant_type": "client_credentials"},
    headers={"Accept": "application/json"},
    verify=verify,
)
token.raise_for_status()
body = token.json()
assert body["token_type"] == "Bearer" and body["expires_in"] == 3600, body

session = requests.Session()
session.headers["Authorization"] = "Bearer " + body["access_token"]
session.headers["Accept"] = "application/vnd.atlas.2024-11-13+json"
collection = f"/api/atlas/v2/groups/{group}/backup/AWS/privateEndpoints"


def call(method, path, **kwargs):
    # verify per request: requests lets REQUESTS_CA_BUNDLE override a Session's verify.
    r = session.request(method, base + path, verify=verify, **kwargs)
    print(json.dumps({"method": method, "url": path, "status": r.status_code,
                      "headers": {k.lower(): v for k, v in r.headers.items()}, "text": r.text}), flush=True)
    return r


created = call("POST", collection, json={"cloudProvider": "AWS", "regionName": "AP_NORTHEAST_3"}).json()
call("GET", collection)
call("GET", f"{collection}/{created['id']}")
call("DELETE", f"{collection}/{created['id']}")
