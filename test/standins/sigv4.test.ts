// The SigV4 check the AWS stand-ins use (test/standins/sigv4.ts), against the AWS Signature Version 4 test suite's
// published vectors (https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-test-suite.html: access key
// AKIDEXAMPLE, the documented example secret, us-east-1, service "service", 2015-08-30T12:36:00Z), and what it refuses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalRequest, checkSigV4, signature, type SignedRequest } from './sigv4';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const AMZ_DATE = '20150830T123600Z';
const AT = Date.UTC(2015, 7, 30, 12, 36, 0);
const EMPTY = createHash('sha256').update('').digest('hex');
const HEADERS = { host: 'example.amazonaws.com', 'x-amz-date': AMZ_DATE };

/** A suite request with the Authorization header the suite publishes for it. */
function suite(method: string, url: string, published: string): SignedRequest {
  return {
    method,
    url,
    body: '',
    headers: {
      ...HEADERS,
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${published}`,
    },
  };
}

const VECTORS: Array<[string, string, string, string]> = [
  ['get-vanilla', 'GET', '/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
  ['get-vanilla-query-order-key-case', 'GET', '/?Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'],
  ['post-vanilla', 'POST', '/', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
];

const secretOf = (key: string): string | undefined => (key === 'AKIDEXAMPLE' ? SECRET : undefined);

describe('SigV4 from the documented algorithm', () => {
  for (const [name, method, url, published] of VECTORS) {
    test(`${name}: the published signature`, () => {
      const canonical = canonicalRequest({ method, url, headers: HEADERS, signedHeaders: ['host', 'x-amz-date'], payloadHash: EMPTY });
      assert.equal(signature(SECRET, AMZ_DATE, 'us-east-1', 'service', canonical), published);
      assert.deepEqual(checkSigV4(suite(method, url, published), { service: 'service', secretOf, now: AT }), {
        ok: true,
        accessKeyId: 'AKIDEXAMPLE',
        region: 'us-east-1',
        service: 'service',
      });
    });
  }

  test('get-vanilla-query-order-key-case: the canonical request sorts the query', () => {
    assert.equal(
      canonicalRequest({ method: 'GET', url: '/?Param2=value2&Param1=value1', headers: HEADERS, signedHeaders: ['host', 'x-amz-date'], payloadHash: EMPTY }),
      `GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:${AMZ_DATE}\n\nhost;x-amz-date\n${EMPTY}`,
    );
  });

  test('refused: another secret, a changed request, a stale or future date, another service, an unknown key, no header', () => {
    const [, method, url, published] = VECTORS[0] as (typeof VECTORS)[number];
    const req = suite(method, url, published);
    const check = (r: SignedRequest, o: Partial<Parameters<typeof checkSigV4>[1]> = {}) => {
      const c = checkSigV4(r, { service: 'service', secretOf, now: AT, ...o });
      return c.ok ? 'ok' : c.refusal;
    };
    assert.equal(check(req), 'ok');
    assert.equal(check(req, { secretOf: () => 'not-the-secret' }), 'SignatureDoesNotMatch');
    assert.equal(check({ ...req, url: '/?extra=1' }), 'SignatureDoesNotMatch');
    assert.equal(check({ ...req, method: 'POST' }), 'SignatureDoesNotMatch');
    assert.equal(check({ ...req, body: 'tampered' }), 'SignatureDoesNotMatch');
    assert.equal(check(req, { now: AT + 5 * 60_000 }), 'ok', 'five minutes is still inside the window');
    assert.equal(check(req, { now: AT + 5 * 60_000 + 1000 }), 'SignatureExpired');
    assert.equal(check(req, { now: AT - 5 * 60_000 - 1000 }), 'SignatureExpired', 'a date in the future too');
    assert.equal(check(req, { service: 'cloudtrail' }), 'WrongService');
    assert.equal(check(req, { secretOf: () => undefined }), 'UnknownAccessKey');
    assert.equal(check({ ...req, headers: { ...HEADERS } }), 'MissingAuthenticationToken');
    assert.equal(check({ ...req, headers: { ...req.headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE' } }), 'IncompleteSignature');
  });
});
