"""OAuth 2.0 JWT bearer token endpoint and session tokens (salesforce-rest.md §1).

The assertion's RS256 signature is really verified against the connected app's
certificate, so a portal signing with the wrong key fails here as it would in
production.  Issued tokens expire after `ttl_s` (the org session timeout).
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    def __init__(self, error, description):
        super().__init__(description)
        self.body = {"error": error, "error_description": description}


def _b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenIssuer:
    def __init__(self, org, cert_path, audience, instance_url, ttl_s):
        self.org = org
        with open(cert_path, "rb") as f:
            self.public_key = x509.load_pem_x509_certificate(f.read()).public_key()
        self.audience = audience
        self.instance_url = instance_url
        self.ttl_s = ttl_s
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._tokens = {}  # access token -> expiry (epoch seconds)

    def token_request(self, form_body):
        """Handle a POST /services/oauth2/token body -> response dict, or OAuthError."""
        form = urllib.parse.parse_qs(form_body.decode("utf-8", "replace"))
        if form.get("grant_type", [""])[0] != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        claims = self.verify(form.get("assertion", [""])[0])
        return self.issue(claims)

    def verify(self, assertion):
        invalid = OAuthError("invalid_grant", "invalid assertion")
        parts = assertion.split(".")
        if len(parts) != 3:
            raise invalid
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            raise invalid
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
            raise invalid
        if claims.get("iss") != self.org["client_id"]:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        try:
            self.public_key.verify(signature, (parts[0] + "." + parts[1]).encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise invalid
        aud = claims.get("aud")
        if (aud if isinstance(aud, list) else [aud]).count(self.audience) == 0:
            raise OAuthError("invalid_grant", "audience is invalid")
        try:
            exp = int(claims.get("exp"))  # [SS] sends it as a string; a number works too
        except (TypeError, ValueError):
            raise invalid
        if exp <= time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        if claims.get("sub") != self.org["username"]:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return claims

    def issue(self, claims):
        org15 = self.org["org_id"][:15]
        token = org15 + "!" + secrets.token_urlsafe(72)
        with self._lock:
            self._tokens[token] = time.time() + self.ttl_s
        identity = "%s/id/%s/%s" % (self.instance_url, self.org["org_id"], self.org["user_id"])
        issued_at = str(int(time.time() * 1000))
        signature = base64.b64encode(hmac.new(self._secret, (identity + issued_at).encode(),
                                              hashlib.sha256).digest()).decode()
        return {"access_token": token, "scope": "api", "instance_url": self.instance_url, "id": identity,
                "token_type": "Bearer", "issued_at": issued_at, "signature": signature}

    def valid(self, token):
        with self._lock:
            exp = self._tokens.get(token)
        return exp is not None and exp > time.time()

    def expire_all(self):
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = 0
