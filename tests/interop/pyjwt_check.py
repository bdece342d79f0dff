#!/usr/bin/python3
"""Verifies a sessiond assertion with PyJWT, independently of sessiond's code.

usage: pyjwt_check.py JWKS_FILE JWT AUDIENCE ISSUER [LEEWAY_SECONDS]

Picks the key of the JWKS by the token header's kid, verifies the signature
with only that key's own algorithm (EdDSA or ES256) allowed, requires exp,
iat, nbf, iss, aud, sub and jti, and checks the audience and the issuer.
LEEWAY_SECONDS (default 0) is the clock tolerance for exp and nbf: a test
of a short-lived assertion on a loaded machine checks its signature and
claims, not how fast the machine got to it.
  exit 0: the verified claims, one line of JSON, on stdout
  exit 1: "refused: <ExceptionClass>: <message>" on stdout
  exit 2: usage error, or a JWKS file that cannot be read as a JWKS
Needs Debian's python3-jwt (PyJWT 2.6) and python3-cryptography; run it with
/usr/bin/python3.
"""

import json
import sys

import jwt

REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
# The only key shapes sessiond publishes: (kty, crv) -> alg.
KEY_ALGS = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}


class UnknownKeyError(jwt.InvalidTokenError):
    """No key (or more than one) of the JWKS has the token's kid."""


class KeyAlgorithmError(jwt.InvalidTokenError):
    """The JWK is not an Ed25519/EdDSA or P-256/ES256 signing key."""


def load_jwks(path):
    """The JWKS's list of keys; exits 2 when the file is not a JWKS."""
    try:
        with open(path, encoding="utf-8") as f:
            jwks = json.load(f)
        keys = jwks["keys"]
        if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
            raise ValueError("'keys' is not an array of objects")
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"pyjwt_check: cannot read the JWKS {path}: {type(e).__name__}: {e}",
              file=sys.stderr)
        sys.exit(2)
    return keys


def verify(keys, token, audience, issuer, leeway):
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise UnknownKeyError("the token header has no kid")
    matching = [k for k in keys if k.get("kid") == kid]
    if len(matching) != 1:
        raise UnknownKeyError(f"{len(matching)} keys of the JWKS have kid {kid!r}")
    jwk_dict = matching[0]

    alg = KEY_ALGS.get((jwk_dict.get("kty"), jwk_dict.get("crv")))
    if alg is None or jwk_dict.get("alg", alg) != alg:
        raise KeyAlgorithmError(
            f"key {kid!r} is kty {jwk_dict.get('kty')!r} crv {jwk_dict.get('crv')!r} "
            f"alg {jwk_dict.get('alg')!r}, not an EdDSA/Ed25519 or ES256/P-256 key")
    if jwk_dict.get("use", "sig") != "sig":
        raise KeyAlgorithmError(f"key {kid!r} is not a signing key")

    jwk = jwt.PyJWK(jwk_dict, algorithm=alg)
    return jwt.decode(
        token,
        jwk.key,
        algorithms=[alg],
        audience=audience,
        issuer=issuer,
        options={"require": REQUIRED},
        leeway=leeway,
    )


def main(argv):
    if len(argv) not in (5, 6) or (len(argv) == 6 and not argv[5].isdigit()):
        print("usage: pyjwt_check.py JWKS_FILE JWT AUDIENCE ISSUER [LEEWAY_SECONDS]", file=sys.stderr)
        return 2
    _, jwks_path, token, audience, issuer = argv[:5]
    leeway = int(argv[5]) if len(argv) == 6 else 0
    keys = load_jwks(jwks_path)
    try:
        claims = verify(keys, token, audience, issuer, leeway)
    except Exception as e:  # every failure is a refusal, whatever raised it
        message = " ".join(str(e).split())  # one line, whatever the message holds
        print(f"refused: {type(e).__name__}: {message}")
        return 1
    print(json.dumps(claims, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
