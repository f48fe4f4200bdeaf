"""Schemathesis hooks for snaplink: sign every generated request with HTTP Digest, as Atlas API
keys are used. Schemathesis's own --auth is Basic only, so requests' HTTPDigestAuth does it
(one challenge per worker thread, then the nonce is reused with a rising nonce-count).
Credentials come from SNAPLINK_PUBLIC_KEY and SNAPLINK_PRIVATE_KEY."""
import os

import schemathesis
from requests.auth import HTTPDigestAuth

schemathesis.auth.set_from_requests(HTTPDigestAuth(os.environ["SNAPLINK_PUBLIC_KEY"], os.environ["SNAPLINK_PRIVATE_KEY"]))
