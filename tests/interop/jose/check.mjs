// Verifies a sessiond assertion with jose (panva/jose), independently of
// sessiond's code. Same contract as ../pyjwt_check.py.
//
// usage: node check.mjs JWKS_FILE JWT AUDIENCE ISSUER [LEEWAY_SECONDS]
//   exit 0: the verified claims, one line of JSON, on stdout
//   exit 1: "refused: <ErrorClass>: <message>" on stdout
//   exit 2: usage error, or a JWKS file that cannot be read as a JWKS
// The key is the JWKS's key with the token's kid (createLocalJWKSet picks it
// and refuses a kid it does not hold; a header without a kid is refused here,
// as pyjwt_check.py does: createLocalJWKSet alone would take the one key of
// the header's alg); EdDSA and ES256 are the only algorithms allowed, and the
// key's own alg must be the header's.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify } from 'jose';

const args = process.argv.slice(2);
if ((args.length !== 4 && args.length !== 5) || (args.length === 5 && !/^[0-9]+$/.test(args[4]))) {
  process.stderr.write('usage: node check.mjs JWKS_FILE JWT AUDIENCE ISSUER [LEEWAY_SECONDS]\n');
  process.exit(2);
}
const [jwksPath, token, audience, issuer] = args;
const clockTolerance = args.length === 5 ? Number(args[4]) : 0;

let localKeys;
try {
  localKeys = createLocalJWKSet(JSON.parse(readFileSync(jwksPath, 'utf8')));
} catch (e) {
  process.stderr.write(`check.mjs: cannot read the JWKS ${jwksPath}: ${e?.name}: ${e?.message}\n`);
  process.exit(2);
}

const keySet = (protectedHeader, jws) => {
  if (typeof protectedHeader?.kid !== 'string') {
    throw new errors.JWKSNoMatchingKey('the token header has no kid');
  }
  return localKeys(protectedHeader, jws);
};

try {
  const { payload } = await jwtVerify(token, keySet, {
    issuer,
    audience,
    algorithms: ['EdDSA', 'ES256'],
    requiredClaims: ['exp', 'iat', 'nbf', 'sub', 'jti'],
    clockTolerance,
  });
  process.stdout.write(`${JSON.stringify(payload)}\n`);
  process.exitCode = 0;
} catch (e) {
  // Every failure is a refusal, whatever threw it.
  const name = e?.constructor?.name ?? typeof e;
  const message = String(e?.message ?? e).split(/\s+/).join(' ').trim();
  process.stdout.write(`refused: ${name}: ${message}\n`);
  process.exitCode = 1;
}
