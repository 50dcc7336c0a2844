// AWS Signature Version 4, checked the way an AWS endpoint checks it, for the loopback AWS stand-ins: written from
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (canonical request, string to sign,
// derived signing key), not taken from the SDK that signs the requests. test/standins/sigv4.test.ts pins it to the
// AWS SigV4 test suite's published vectors.
//
// What it refuses, as AWS does: no Authorization header; one that is not a complete SigV4 header; a credential scope
// for another service, or whose date is not the X-Amz-Date's; an access key it does not know; an X-Amz-Date more than
// 5 minutes away from now (a stale or replayed request); and a signature that does not match the secret key.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SignedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer | string;
}

export type SigV4Refusal =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'WrongService'
  | 'UnknownAccessKey'
  | 'SignatureExpired'
  | 'SignatureDoesNotMatch';

export type SigV4Check =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | { ok: false; refusal: SigV4Refusal; message: string; accessKeyId?: string; region?: string; service?: string };

export interface SigV4Options {
  /** The service the endpoint serves (the credential scope must name it). */
  service: string;
  /** The secret access key of an access key id, or undefined when the key is unknown. */
  secretOf(accessKeyId: string): string | undefined;
  /** Now, in epoch ms. Default Date.now(). */
  now?: number;
  /** Allowed distance between X-Amz-Date and now. Default 5 minutes, as AWS. */
  maxSkewMs?: number;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, the rest %XX in upper case over UTF-8. */
function uriEncode(text: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/') ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return text;
  }
}

export interface CanonicalParts {
  method: string;
  url: string;
  /** Header name (any case) → value, for the signed headers. */
  headers: Record<string, string>;
  signedHeaders: string[];
  payloadHash: string;
}

/** The canonical request: method, URI, query, headers, signed header names, payload hash. */
export function canonicalRequest(p: CanonicalParts): string {
  const [rawPath = '/', rawQuery = ''] = p.url.split('?', 2);
  // Each path segment decoded, then encoded as above (the services here are not S3).
  const path = rawPath === '' ? '/' : rawPath.split('/').map((seg) => uriEncode(decode(seg))).join('/');
  const pairs = rawQuery
    .split('&')
    .filter((x) => x !== '')
    .map((kv) => {
      const i = kv.indexOf('=');
      return [uriEncode(decode(i < 0 ? kv : kv.slice(0, i))), uriEncode(decode(i < 0 ? '' : kv.slice(i + 1)))] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const lower = new Map(Object.entries(p.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const names = [...p.signedHeaders].map((h) => h.toLowerCase()).sort();
  const headerLines = names.map((n) => `${n}:${(lower.get(n) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return [p.method.toUpperCase(), path, pairs.map(([k, v]) => `${k}=${v}`).join('&'), headerLines, names.join(';'), p.payloadHash].join('\n');
}

/** The signature of a canonical request under a secret key, for a date (yyyymmddThhmmssZ), Region and service. */
export function signature(secret: string, amzDate: string, region: string, service: string, canonical: string): string {
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

function amzDateMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : Number.NaN;
}

/** Checks a request's SigV4 Authorization header. */
export function checkSigV4(req: SignedRequest, opts: SigV4Options): SigV4Check {
  const header = req.headers.authorization;
  if (!header) return { ok: false, refusal: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
  const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(header);
  if (!m) return { ok: false, refusal: 'IncompleteSignature', message: 'Authorization header is not a complete AWS Signature Version 4' };
  const [, accessKeyId = '', day = '', region = '', service = '', signed = '', given = ''] = m;
  const who = { accessKeyId, region, service };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const at = amzDateMs(amzDate);
  if (Number.isNaN(at)) return { ok: false, refusal: 'IncompleteSignature', message: 'X-Amz-Date is missing or not yyyymmddThhmmssZ', ...who };
  const signedHeaders = signed.split(';');
  for (const h of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(h)) return { ok: false, refusal: 'IncompleteSignature', message: `SignedHeaders must include ${h}`, ...who };
  }
  if (service !== opts.service) {
    return { ok: false, refusal: 'WrongService', message: `Credential should be scoped to correct service: '${opts.service}', not '${service}'`, ...who };
  }
  if (day !== amzDate.slice(0, 8)) {
    return { ok: false, refusal: 'IncompleteSignature', message: `Credential should be scoped to a valid date: ${amzDate.slice(0, 8)}, not ${day}`, ...who };
  }
  const secret = opts.secretOf(accessKeyId);
  if (secret === undefined) return { ok: false, refusal: 'UnknownAccessKey', message: 'The security token included in the request is invalid.', ...who };
  const now = opts.now ?? Date.now();
  if (Math.abs(now - at) > (opts.maxSkewMs ?? 5 * 60_000)) {
    const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    return { ok: false, refusal: 'SignatureExpired', message: `Signature expired: ${amzDate} is now earlier than ${stamp} - 5 min.`, ...who };
  }
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) {
    const v = req.headers[h];
    headers[h] = Array.isArray(v) ? v.join(',') : String(v ?? '');
  }
  const payloadHash = typeof req.headers['x-amz-content-sha256'] === 'string' ? req.headers['x-amz-content-sha256'] : sha256(req.body);
  const want = signature(secret, amzDate, region, service, canonicalRequest({ method: req.method, url: req.url, headers, signedHeaders, payloadHash }));
  if (!timingSafeEqual(Buffer.from(want), Buffer.from(given))) {
    return {
      ok: false,
      refusal: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      ...who,
    };
  }
  return { ok: true, ...who };
}
