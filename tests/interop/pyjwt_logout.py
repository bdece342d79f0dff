#!/usr/bin/python3
"""An identity provider's side of OIDC back-channel logout, on PyJWT alone:
publishes keys as a JWKS and signs logout tokens, so that sessiond's
verification is tested against tokens its own code never made.

usage:
  pyjwt_logout.py jwks OUT KID=PEM_FILE [KID=PEM_FILE...]
      writes the public JWKs of the private keys (RSA: RS256, EC P-256:
      ES256) with kid, alg and use "sig" to OUT
  pyjwt_logout.py sign SPECS_FILE
      SPECS_FILE: a JSON array of {"pem": path or null, "alg": ..., "claims":
      {...}, "headers": {...}}; prints one compact JWS per spec, one a line.
      alg "none" signs nothing; claims are taken as given (no defaults).
Exit 2 on a usage error. Needs Debian's python3-jwt (PyJWT 2.6) and
python3-cryptography; run it with /usr/bin/python3.
"""

import json
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def load_private(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def public_jwk(kid, key):
    if isinstance(key, rsa.RSAPrivateKey):
        jwk, alg = json.loads(RSAAlgorithm.to_jwk(key.public_key())), "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk, alg = json.loads(ECAlgorithm.to_jwk(key.public_key())), "ES256"
    else:
        raise SystemExit(f"pyjwt_logout: key {kid} is neither RSA nor EC")
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def main(argv):
    if len(argv) >= 4 and argv[1] == "jwks":
        keys = []
        for spec in argv[3:]:
            kid, _, path = spec.partition("=")
            keys.append(public_jwk(kid, load_private(path)))
        with open(argv[2], "w", encoding="utf-8") as f:
            json.dump({"keys": keys}, f)
        return 0
    if len(argv) == 3 and argv[1] == "sign":
        with open(argv[2], encoding="utf-8") as f:
            specs = json.load(f)
        for spec in specs:
            key = load_private(spec["pem"]) if spec.get("pem") else None
            if spec["alg"].startswith("HS"):
                key = b"a shared secret no provider of sessiond's has"
            token = jwt.encode(spec["claims"], key, algorithm=spec["alg"], headers=spec.get("headers"))
            print(token)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
