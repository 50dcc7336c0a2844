// The Duo stand-in's signature check (src/demo/sandbox/duo-signature.ts) against fixed vectors that do not come from
// the client package vouch uses: Duo's own published example, Duo's Python client's published SHA-512 vector, and one
// computed by hand from the documented canonical form (openssl dgst -sha512 -hmac). Then the stand-in itself: a
// request it accepts, and the same request with one thing changed, refused with Duo's codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import {
  checkDuoAuthorization,
  duoAuthorization,
  duoCanonicalParams,
  duoCanonicalRequest,
  duoSignature,
} from '../../src/demo/sandbox/duo-signature';
import { DuoStandIn, type DuoStandInAddress } from '../../src/demo/sandbox/duo';

describe('Duo signatures from the documented canonical form', () => {
  test("Duo's published example (HMAC-SHA1 form): canonical string, signature and Authorization header", () => {
    const r = {
      date: 'Tue, 21 Aug 2012 17:29:18 -0000',
      method: 'POST',
      host: 'api-XXXXXXXX.duosecurity.com',
      path: '/accounts/v1/account/list',
      params: { username: 'root', realname: 'First Last' },
    };
    assert.equal(
      duoCanonicalRequest(r),
      'Tue, 21 Aug 2012 17:29:18 -0000\nPOST\napi-xxxxxxxx.duosecurity.com\n/accounts/v1/account/list\nrealname=First%20Last&username=root',
    );
    assert.equal(duoSignature('Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep', duoCanonicalRequest(r), 'sha1'), '2d97d6166319781b5a3a07af39d366f491234edc');
    assert.equal(
      duoAuthorization('DIWJ8X6AEYOR5OMC6TQ1', 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep', r, 'sha1'),
      'Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6MmQ5N2Q2MTY2MzE5NzgxYjVhM2EwN2FmMzlkMzY2ZjQ5MTIzNGVkYw==',
    );
  });

  test("Duo's Python client's HMAC-SHA512 vector: mixed-case method and host, non-ASCII keys and values", () => {
    const r = {
      date: 'Fri, 07 Dec 2012 17:18:00 -0000',
      method: 'PoSt',
      host: 'foO.BAr52.cOm',
      path: '/Foo/BaR2/qux',
      params: {
        '\u469a\u287b\u35d0\u8ef3\u6727\u502a\u0810\ud091\xc8\uc170': '\u0f45\u1a76\u341a\u654c\uc23f\u9b09\uabe2\u8343\u1b27\u60d0',
        '\u7449\u7e4b\uccfb\u59ff\ufe5f\u83b7\uadcc\u900c\ucfd1\u7813': '\u8db7\u5022\u92d3\u42ef\u207d\u8730\uacfe\u5617\u0946\u4e30',
        '\u7470\u9314\u901c\u9eae\u40d8\u4201\u82d8\u8c70\u1d31\ua042': '\u17d9\u0ba8\u9358\uaadf\ua42a\u48be\ufb96\u6fe9\ub7ff\u32f3',
        '\uc2c5\u2c1d\u2620\u3617\u96b3F\u8605\u20e8\uac21\u5934': '\ufba9\u41aa\ubd83\u840b\u2615\u3e6e\u652d\ua8b5\ud56bU',
      },
    };
    assert.equal(
      duoSignature('gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT', duoCanonicalRequest(r)),
      '0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c44dd3b3985a02c37aca53ec3698',
    );
    assert.equal(duoSignature('gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT', duoCanonicalRequest(r), 'sha1'), 'f01811cbbf9561623ab45b893096267fd46a5178');
  });

  test('an Auth API push, computed by hand: printf the five lines | openssl dgst -sha512 -hmac SKEY', () => {
    const r = {
      date: 'Tue, 01 Dec 2026 09:30:00 -0000',
      method: 'POST',
      host: 'api-3F2A9C1E.duosecurity.com',
      path: '/auth/v2/auth',
      params: {
        username: 'alice@example.com',
        factor: 'push',
        device: 'auto',
        async: '1',
        type: 'AWS change',
        display_username: 'alice@example.com',
        pushinfo: 'event=StopLogging&account=111122223333',
      },
    };
    assert.equal(
      duoCanonicalRequest(r),
      'Tue, 01 Dec 2026 09:30:00 -0000\nPOST\napi-3f2a9c1e.duosecurity.com\n/auth/v2/auth\n' +
        'async=1&device=auto&display_username=alice%40example.com&factor=push&pushinfo=event%3DStopLogging%26account%3D111122223333&type=AWS%20change&username=alice%40example.com',
    );
    assert.equal(
      duoSignature('kH3mXq9vTz2LwPb7RcYd4NfJ8sAe6UgQ1oViKyMh', duoCanonicalRequest(r)),
      '5ab78e86940ba7cf7fe20a00a2f409b0e7b2ec2f1adc45e22c1502cac4668d03744c98dfc5f539ce4cd37ed158eac91a62f10a95039cccd588b0a6f0105a6b06',
    );
  });

  test('params: RFC 3986 (unreserved kept, the rest upper-case %XX), sorted by key, empty when there are none', () => {
    assert.equal(duoCanonicalParams({}), '');
    assert.equal(duoCanonicalParams({ b: "!'()*", a: '~-._ +/' }), 'a=~-._%20%2B%2F&b=%21%27%28%29%2A');
    assert.equal(duoCanonicalParams({ foo_bar: '2', foo: '1' }), 'foo=1&foo_bar=2', 'a key sorts before the longer key it starts');
  });

  test('the check names what is wrong with Duo’s codes', () => {
    const creds = { ikey: 'DIWJ8X6AEYOR5OMC6TQ1', skey: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep' };
    const r = { date: 'Tue, 21 Aug 2012 17:29:18 -0000', method: 'GET', host: 'api-x.duosecurity.com', path: '/auth/v2/check', params: {} };
    const good = duoAuthorization(creds.ikey, creds.skey, r);
    assert.deepEqual(checkDuoAuthorization(good, creds, r), { ok: true, ikey: creds.ikey, digest: 'sha512' });
    assert.deepEqual(checkDuoAuthorization(undefined, creds, r), { ok: false, code: 40101 });
    assert.deepEqual(checkDuoAuthorization(duoAuthorization('DIOTHER00000000000000', creds.skey, r), creds, r), { ok: false, code: 40102 });
    assert.deepEqual(checkDuoAuthorization(good, creds, { ...r, path: '/auth/v2/ping' }), { ok: false, code: 40103 });
    assert.deepEqual(checkDuoAuthorization(good, creds, { ...r, date: 'Tue, 21 Aug 2012 17:29:19 -0000' }), { ok: false, code: 40103 });
  });
});

describe('the Duo stand-in refuses what Duo refuses', () => {
  const IKEY = 'DIWJ8X6AEYOR5OMC6TQ1';
  const SKEY = 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep';
  const duo = new DuoStandIn({ ikey: IKEY, skey: SKEY, users: [{ username: 'alice', status: 'active' }] });
  let address: DuoStandInAddress;
  before(async () => {
    address = await duo.start();
  });
  after(() => duo.stop());

  function post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: address.port,
          servername: 'localhost',
          ca: address.ca,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  test('a preauth signed from the documented form passes (SHA-512 and SHA-1); a changed body, host or key does not', async () => {
    const date = new Date().toUTCString();
    const params = { username: 'alice' };
    const body = 'username=alice';
    const r = { date, method: 'POST', host: address.host, path: '/auth/v2/preauth', params };
    for (const digest of ['sha512', 'sha1'] as const) {
      const ok = await post('/auth/v2/preauth', body, { Date: date, Authorization: duoAuthorization(IKEY, SKEY, r, digest) });
      assert.equal(ok.status, 200, `${digest}: ${JSON.stringify(ok.body)}`);
      assert.equal((ok.body.response as { result: string }).result, 'auth');
    }
    const signed = duoAuthorization(IKEY, SKEY, r);
    const cases: Array<[string, string, Record<string, string>, number]> = [
      ['another user in the body', 'username=mallory', { Date: date, Authorization: signed }, 40103],
      ['signed for another host', body, { Date: date, Authorization: duoAuthorization(IKEY, SKEY, { ...r, host: 'api-other.duosecurity.com' }) }, 40103],
      ['signed with another secret', body, { Date: date, Authorization: duoAuthorization(IKEY, 'x'.repeat(40), r) }, 40103],
      ['signed as GET', body, { Date: date, Authorization: duoAuthorization(IKEY, SKEY, { ...r, method: 'GET' }) }, 40103],
      ['an unknown integration key', body, { Date: date, Authorization: duoAuthorization('DIUNKNOWN00000000000', SKEY, r) }, 40102],
      ['no credentials', body, { Date: date }, 40101],
    ];
    for (const [what, b, headers, code] of cases) {
      const res = await post('/auth/v2/preauth', b, headers);
      assert.deepEqual([res.status, res.body.code], [401, code], what);
    }
    const stale = new Date(Date.now() - 6 * 60_000).toUTCString();
    const old = await post('/auth/v2/preauth', body, { Date: stale, Authorization: duoAuthorization(IKEY, SKEY, { ...r, date: stale }) });
    assert.deepEqual([old.status, old.body.code], [401, 40105], 'a correctly signed but stale request');
  });
});
