#!/usr/bin/env bash
# Self-test of the two independent JWT verifiers (pyjwt_check.py and
# jose/check.mjs): keys made with openssl, a JWKS built by hand, tokens signed
# with PyJWT (and a few forged by hand); both verifiers must accept the good
# tokens with the claims they carry and refuse every bad one.
#   tests/interop/selftest.sh
# Needs openssl, /usr/bin/python3 with python3-jwt and python3-cryptography,
# node and tests/interop/jose/node_modules (scripts/install-deps, or
# npm ci --prefix tests/interop/jose). Exits non-zero on any mismatch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3

if [ ! -d "$here/jose/node_modules/jose" ]; then
  echo "selftest: $here/jose/node_modules is missing: run scripts/install-deps" \
    "or npm ci --prefix tests/interop/jose" >&2
  exit 2
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/interop-selftest.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

openssl genpkey -algorithm ed25519 -out "$scratch/a1.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$scratch/e1.pem" 2>/dev/null
# Keys not in the JWKS (a signature by them must not verify under a1/e1).
openssl genpkey -algorithm ed25519 -out "$scratch/a2.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$scratch/e2.pem" 2>/dev/null

# Writes jwks.json and one file per token (tok.<name>) into the scratch dir.
"$py" - "$scratch" <<'EOF'
import base64, hashlib, hmac, json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

d = sys.argv[1]
ISS, AUD = "https://sessiond.example.com", "billing"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def load(name):
    with open(f"{d}/{name}.pem", "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


a1, e1, a2, e2 = (load(n) for n in ("a1", "e1", "a2", "e2"))
raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
a1_x = a1.public_key().public_bytes(*raw)
nums = e1.public_key().public_numbers()
jwk_a1 = {"kty": "OKP", "crv": "Ed25519", "x": b64u(a1_x), "kid": "a1", "alg": "EdDSA", "use": "sig"}
jwk_e1 = {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
          "y": b64u(nums.y.to_bytes(32, "big")), "kid": "e1", "alg": "ES256", "use": "sig"}
with open(f"{d}/jwks.json", "w") as f:
    json.dump({"keys": [jwk_a1, jwk_e1]}, f)

now = int(time.time())


def claims(**over):
    c = {"iss": ISS, "sub": "user-42", "sid": "s_0123456789abcdef", "aud": AUD,
         "iat": now, "nbf": now, "exp": now + 600, "jti": "q2x7Rk1vXg9mZ0aBcDeFgH",
         "auth_time": now - 300, "tenant": "acme"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def put(name, token):
    with open(f"{d}/tok.{name}", "w") as f:
        f.write(token)


def sign(key, alg, kid, payload, **hdr):
    headers = {"kid": kid, **hdr} if kid is not None else hdr
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def forge(header, payload, sig=b""):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    return f"{h}.{p}.{b64u(sig)}"


def hs256(header, payload, secret):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64u(mac)}"


# Accepted.
put("good_ed", sign(a1, "EdDSA", "a1", claims()))
put("good_es", sign(e1, "ES256", "e1", claims()))
put("good_aud_array", sign(a1, "EdDSA", "a1", claims(aud=["other", AUD])))

# Refused.
good = sign(a1, "EdDSA", "a1", claims())
h, p, s = good.split(".")
put("tampered_payload", f"{h}.{b64u(json.dumps(claims(sub='admin')).encode())}.{s}")
flipped = bytearray(base64.urlsafe_b64decode(s + "=="))
flipped[0] ^= 0x01
put("tampered_signature", f"{h}.{p}.{b64u(bytes(flipped))}")
put("wrong_aud", sign(a1, "EdDSA", "a1", claims(aud="other")))
put("wrong_iss", sign(e1, "ES256", "e1", claims(iss="https://evil.example.com")))
put("expired", sign(a1, "EdDSA", "a1", claims(iat=now - 120, nbf=now - 120, exp=now - 60)))
put("not_yet_valid", sign(e1, "ES256", "e1", claims(nbf=now + 600, exp=now + 660)))
put("unknown_kid", sign(a1, "EdDSA", "zz", claims()))
put("no_kid", sign(a1, "EdDSA", None, claims()))
put("other_key_ed", sign(a2, "EdDSA", "a1", claims()))
put("other_key_es", sign(e2, "ES256", "e1", claims()))
put("alg_key_mismatch", sign(a1, "EdDSA", "e1", claims()))  # EdDSA under the P-256 key's kid
for missing in ("exp", "iat", "nbf", "sub", "jti", "iss", "aud"):
    put(f"missing_{missing}", sign(a1, "EdDSA", "a1", claims(**{missing: None})))
# alg none, with and without an (empty) signature part.
put("alg_none", forge({"alg": "none", "typ": "JWT", "kid": "a1"}, claims()))
put("alg_none_sig", forge({"alg": "none", "typ": "JWT", "kid": "a1"}, claims(), s.encode()))
# ES256 with a DER signature instead of the raw r||s JWS requires.
from cryptography.hazmat.primitives import hashes
hdr = b64u(json.dumps({"alg": "ES256", "typ": "JWT", "kid": "e1"}, separators=(",", ":")).encode())
pl = b64u(json.dumps(claims(), separators=(",", ":")).encode())
der = e1.sign(f"{hdr}.{pl}".encode(), ec.ECDSA(hashes.SHA256()))
put("es256_der_signature", f"{hdr}.{pl}.{b64u(der)}")
# Algorithm confusion: HS256 keyed with the public key's published forms.
spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
secrets = {
    "a1_pem": a1.public_key().public_bytes(*spki),
    "e1_pem": e1.public_key().public_bytes(*spki),
    "a1_jwk": json.dumps(jwk_a1).encode(),
    "a1_jwk_compact": json.dumps(jwk_a1, separators=(",", ":")).encode(),
    "e1_jwk": json.dumps(jwk_e1).encode(),
    "a1_raw_x": a1_x,
}
for name, secret in secrets.items():
    kid = "e1" if name.startswith("e1") else "a1"
    put(f"hs256_{name}", hs256({"alg": "HS256", "typ": "JWT", "kid": kid}, claims(), secret))
put("malformed", "not.a.jwt")
put("two_parts", f"{h}.{p}")
EOF

iss="https://sessiond.example.com"
aud="billing"
jwks="$scratch/jwks.json"
failures=0
checks=0

# run VERIFIER TOKEN_FILE AUDIENCE: sets out and rc.
run() {
  local token
  token="$(cat "$2")"
  rc=0
  case "$1" in
    pyjwt) out="$("$here/pyjwt_check.py" "$jwks" "$token" "$3" "$iss")" || rc=$? ;;
    jose) out="$(node "$here/jose/check.mjs" "$jwks" "$token" "$3" "$iss")" || rc=$? ;;
  esac
}

fail() {
  echo "FAIL $*" >&2
  failures=$((failures + 1))
}

# expect_ok NAME [AUDIENCE]: exit 0 and the token's own claims printed.
expect_ok() {
  local v
  for v in pyjwt jose; do
    checks=$((checks + 1))
    run "$v" "$scratch/tok.$1" "${2:-$aud}"
    if [ "$rc" != 0 ]; then
      fail "$v $1: exit $rc, expected 0: $out"
      continue
    fi
    if ! "$py" -c '
import base64, json, sys
token, out = open(sys.argv[1]).read(), sys.argv[2]
p = token.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
sys.exit(0 if "\n" not in out and json.loads(out) == claims else 1)
' "$scratch/tok.$1" "$out"; then
      fail "$v $1: printed claims differ from the token's: $out"
    else
      echo "ok   $v $1"
    fi
  done
}

# expect_refused NAME [AUDIENCE]: exit 1 and one "refused: Class: message" line.
expect_refused() {
  local v
  for v in pyjwt jose; do
    checks=$((checks + 1))
    run "$v" "$scratch/tok.$1" "${2:-$aud}"
    if [ "$rc" != 1 ]; then
      fail "$v $1: exit $rc, expected 1: $out"
    elif ! [[ "$out" =~ ^refused:\ [A-Za-z_][A-Za-z0-9_]*:\ [^$'\n']*$ ]]; then
      fail "$v $1: exit 1 but output is not one refused line: $out"
    else
      echo "ok   $v $1 -> $out"
    fi
  done
}

expect_ok good_ed
expect_ok good_es
expect_ok good_aud_array
expect_refused good_ed other            # right token, wrong audience asked for
expect_refused good_es "billing "       # audience compared exactly
for t in tampered_payload tampered_signature wrong_aud wrong_iss expired not_yet_valid \
  unknown_kid no_kid other_key_ed other_key_es alg_key_mismatch \
  missing_exp missing_iat missing_nbf missing_sub missing_jti missing_iss missing_aud \
  alg_none alg_none_sig es256_der_signature \
  hs256_a1_pem hs256_e1_pem hs256_a1_jwk hs256_a1_jwk_compact hs256_e1_jwk hs256_a1_raw_x \
  malformed two_parts; do
  expect_refused "$t"
done

# Usage errors (exit 2): wrong argument count, a JWKS file that is not one.
printf '{"not":"a jwks"}' >"$scratch/bad-jwks.json"
good="$(cat "$scratch/tok.good_ed")"
for v in pyjwt jose; do
  for args in "2|$jwks|$good|$aud" "2|$scratch/absent.json|$good|$aud|$iss" \
    "2|$scratch/bad-jwks.json|$good|$aud|$iss"; do
    IFS='|' read -r -a a <<<"$args"
    want="${a[0]}"
    checks=$((checks + 1))
    rc=0
    case "$v" in
      pyjwt) "$here/pyjwt_check.py" "${a[@]:1}" >/dev/null 2>&1 || rc=$? ;;
      jose) node "$here/jose/check.mjs" "${a[@]:1}" >/dev/null 2>&1 || rc=$? ;;
    esac
    if [ "$rc" != "$want" ]; then
      fail "$v usage (${#a[@]} fields, ${a[1]}): exit $rc, expected $want"
    else
      echo "ok   $v usage error exits $want (${a[1]##*/})"
    fi
  done
done

if [ "$failures" -ne 0 ]; then
  echo "selftest: $failures of $checks checks failed" >&2
  exit 1
fi
echo "selftest: all $checks checks passed"
