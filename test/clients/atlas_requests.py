"""Drives snaplink with Python requests and HTTPDigestAuth, the way Atlas's docs do.

Usage: atlas_requests.py BASE_URL PUBLIC_KEY PRIVATE_KEY GROUP_ID
Prints one JSON line per response: method, url, status, headers, text.
"""
import json
import sys

import requests
from requests.auth import HTTPDigestAuth

base, public_key, private_key, group = sys.argv[1:5]
session = requests.Session()
session.auth = HTTPDigestAuth(public_key, private_key)
session.headers["Accept"] = "application/vnd.atlas.2024-11-13+json"
collection = f"/api/atlas/v2/groups/{group}/backup/AWS/privateEndpoints"


def call(method, path, **kwargs):
    r = session.request(method, base + path, **kwargs)
    print(json.dumps({
        "method": method,
        "url": path,
        "status": r.status_code,
        "headers": {k.lower(): v for k, v in r.headers.items()},
        "text": r.text,
    }), flush=True)
    return r


created = call("POST", collection, json={"cloudProvider": "AWS", "regionName": "EU_NORTH_1"}).json()
call("GET", collection + "?pretty=true&itemsPerPage=1")
call("GET", f"{collection}/{created['id']}")
call("DELETE", f"{collection}/{created['id']}")
call("GET", f"{collection}/{created['id']}")
call("POST", collection, json={"cloudProvider": "AWS", "regionName": "nowhere"})
