// Duo API request signatures, written from Duo's documented canonical form (https://duo.com/docs/authapi,
// "Authentication"), not from a client library, so the stand-in checks what Duo checks rather than agreeing with the
// client by construction:
//
//   Authorization: Basic base64(ikey ":" hex(HMAC(skey, canonical)))
//   canonical = date "\n" METHOD "\n" host in lower case "\n" path "\n" params
//   params    = key=value pairs, URL-encoded (unreserved characters A–Z a–z 0–9 - _ . ~ left as they are, everything
//               else as %XX with upper-case hex, UTF-8), sorted by key, joined with "&"; an empty line when there are
//               none. They are the query string of a GET and the form body of a POST.
//   date      = the request's Date (or X-Duo-Date) header, exactly as sent.
//
// The HMAC is HMAC-SHA512 (the documented form, and what Duo's own clients send); HMAC-SHA1, the form of Duo's older
// documentation and of its published example, is recognised by its 40-digit length. test/standins/duo-signature.test.ts
// pins both against published vectors and one computed by hand.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type DuoParams = Record<string, string | string[]>;

/** RFC 3986 percent-encoding: unreserved characters stay, everything else is %XX (upper-case), over UTF-8. */
function encode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The params line: encoded key=value pairs sorted by key (byte order), values of one key in the order given. */
export function duoCanonicalParams(params: DuoParams): string {
  const keys = Object.keys(params).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return keys
    .flatMap((k) => {
      const v = params[k];
      return (Array.isArray(v) ? v : [v ?? '']).map((x) => `${encode(k)}=${encode(x)}`);
    })
    .join('&');
}

export interface DuoRequestParts {
  date: string;
  method: string;
  host: string;
  path: string;
  params: DuoParams;
}

/** The five-line canonical representation of a request (signature version 2). */
export function duoCanonicalRequest(r: DuoRequestParts): string {
  return [r.date, r.method.toUpperCase(), r.host.toLowerCase(), r.path, duoCanonicalParams(r.params)].join('\n');
}

export type DuoDigest = 'sha512' | 'sha1';

/** hex(HMAC(skey, canonical)). */
export function duoSignature(skey: string, canonical: string, digest: DuoDigest = 'sha512'): string {
  return createHmac(digest, skey).update(canonical, 'utf8').digest('hex');
}

/** The Authorization header for a request (signature version 2, HMAC-SHA512 unless told). */
export function duoAuthorization(ikey: string, skey: string, r: DuoRequestParts, digest: DuoDigest = 'sha512'): string {
  return `Basic ${Buffer.from(`${ikey}:${duoSignature(skey, duoCanonicalRequest(r), digest)}`, 'utf8').toString('base64')}`;
}

export type DuoCredentialCheck =
  | { ok: true; ikey: string; digest: DuoDigest }
  | { ok: false; code: 40101 | 40102 | 40103 };

/**
 * Checks an Authorization header as Duo does: present and Basic (40101), the known integration key (40102), and an
 * HMAC of the canonical request under the secret key (40103).
 */
export function checkDuoAuthorization(header: string | undefined, expected: { ikey: string; skey: string }, r: DuoRequestParts): DuoCredentialCheck {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { ok: false, code: 40101 };
  const ikey = decoded.slice(0, colon);
  const given = decoded.slice(colon + 1);
  if (ikey !== expected.ikey) return { ok: false, code: 40102 };
  const digest: DuoDigest | undefined = /^[0-9a-f]{128}$/.test(given) ? 'sha512' : /^[0-9a-f]{40}$/.test(given) ? 'sha1' : undefined;
  if (!digest) return { ok: false, code: 40103 };
  const want = Buffer.from(duoSignature(expected.skey, duoCanonicalRequest(r), digest), 'utf8');
  const got = Buffer.from(given, 'utf8');
  return got.length === want.length && timingSafeEqual(got, want) ? { ok: true, ikey, digest } : { ok: false, code: 40103 };
}
