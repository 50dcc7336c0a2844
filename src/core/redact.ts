// Redaction of sensitive request/response values before they reach Slack, Duo, PagerDuty or workflow history.
// Pure and deterministic: used by the normaliser (src/) and, as defence in depth, by the vendor activities.

export const REDACTED = '<redacted>';

/** Keys whose values are secrets or may hold them (compared case-insensitively, ignoring - and _). */
const SENSITIVE_KEYS = new Set(
  [
    'password',
    'newpassword',
    'oldpassword',
    'secretaccesskey',
    'secretstring',
    'secretbinary',
    'sessiontoken',
    'privatekey',
    'privatekeymaterial',
    'userdata',
    'plaintext',
    'ciphertextblob',
    'keymaterial',
    'importtoken',
    'authtoken',
    'token',
    'accesstoken',
    'refreshtoken',
    'clientsecret',
    'masteruserpassword',
    'masterpassword',
    'dbpassword',
    'credentials',
    'value', // SSM PutParameter Value, Secrets Manager values
    'environment', // Lambda environment variables
    'variables',
    'certificatebody',
    'certificatechain',
    'samlmetadatadocument',
  ].map(normaliseKey),
);

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(normaliseKey(key));
}

/** Deep copy of `value` with every sensitive key's value replaced by REDACTED. Depth-limited against hostile input. */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 32) return REDACTED as unknown as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as unknown as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSensitiveKey(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
