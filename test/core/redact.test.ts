// Redaction: the request and response parameters AWS documents as secrets are replaced before anything leaves vouch.
// The expected names come from the AWS API references (the parameter each service takes or returns), as CloudTrail
// records them (camelCase), not from the redaction list.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isSensitiveKey, redact, REDACTED } from '../../src/core/redact';

/** [parameter as CloudTrail records it, where AWS uses it]. */
const SECRET_PARAMETERS: Array<[string, string]> = [
  ['password', 'IAM CreateLoginProfile'],
  ['newPassword', 'IAM ChangePassword'],
  ['oldPassword', 'IAM ChangePassword'],
  ['secretAccessKey', 'IAM CreateAccessKey response'],
  ['secretString', 'Secrets Manager PutSecretValue'],
  ['secretBinary', 'Secrets Manager CreateSecret'],
  ['sessionToken', 'STS AssumeRole response credentials'],
  ['privateKey', 'ACM ImportCertificate'],
  ['privateKeyMaterial', 'an imported private key'],
  ['userData', 'EC2 RunInstances'],
  ['plaintext', 'KMS Decrypt response'],
  ['ciphertextBlob', 'KMS Encrypt response'],
  ['keyMaterial', 'EC2 CreateKeyPair response'],
  ['importToken', 'KMS ImportKeyMaterial'],
  ['authToken', 'ElastiCache CreateReplicationGroup'],
  ['token', 'a bearer token'],
  ['accessToken', 'Cognito InitiateAuth response'],
  ['refreshToken', 'Cognito InitiateAuth response'],
  ['clientSecret', 'Cognito CreateUserPoolClient response'],
  ['masterUserPassword', 'RDS CreateDBInstance'],
  ['masterPassword', 'a database master password'],
  ['dbPassword', 'a database password'],
  ['credentials', 'STS AssumeRole response'],
  ['value', 'SSM PutParameter'],
  ['environment', 'Lambda CreateFunction'],
  ['variables', 'Lambda environment variables'],
  ['certificateBody', 'IAM UploadServerCertificate'],
  ['certificateChain', 'IAM UploadServerCertificate'],
  ['samlMetadataDocument', 'IAM CreateSAMLProvider'],
];

describe('redaction of sensitive parameters', () => {
  for (const [key, where] of SECRET_PARAMETERS) {
    test(`${key} (${where}) is redacted, beside parameters that are kept`, () => {
      const out = redact({ [key]: 's3cr3t-value', roleName: 'deployer' });
      assert.deepEqual(out, { [key]: REDACTED, roleName: 'deployer' });
      assert.equal(isSensitiveKey(key), true);
    });
  }

  test('names are compared without regard to case, - or _', () => {
    for (const key of ['MasterUserPassword', 'master_user_password', 'MASTER-USER-PASSWORD', 'Secret_Access_Key', 'USERDATA']) {
      assert.equal(isSensitiveKey(key), true, key);
      assert.deepEqual(redact({ [key]: 'x' }), { [key]: REDACTED });
    }
  });

  test('a name that only contains a sensitive one is kept (passwordPolicy, tokenType, valueType)', () => {
    const input = { passwordPolicy: 'strict', tokenType: 'Bearer', valueType: 'String', description: 'password rotated' };
    for (const key of Object.keys(input)) assert.equal(isSensitiveKey(key), false, key);
    assert.deepEqual(redact(input), input);
  });

  test('secrets are found in nested objects and in arrays, and the input is not changed', () => {
    const input = {
      functionName: 'f',
      environment: { variables: { DB_URL: 'postgres://u:p@h/db' } },
      users: [{ userName: 'a', password: 'p1' }, { userName: 'b', loginProfile: { password: 'p2' } }],
      tags: [['k', 'v']],
    };
    const copy = structuredClone(input);
    assert.deepEqual(redact(input), {
      functionName: 'f',
      environment: REDACTED,
      users: [{ userName: 'a', password: REDACTED }, { userName: 'b', loginProfile: { password: REDACTED } }],
      tags: [['k', 'v']],
    });
    assert.deepEqual(input, copy);
    // A copy, not the same objects.
    const out = redact(input);
    assert.notEqual(out.users, input.users);
    assert.notEqual(out.users[0], input.users[0]);
  });

  test('an empty, null or missing secret stays as it is (nothing to hide, and the shape still says it was unset)', () => {
    assert.deepEqual(redact({ password: '', token: null, value: undefined }), { password: '', token: null, value: undefined });
    assert.deepEqual(redact({ password: 0 }), { password: REDACTED });
    assert.deepEqual(redact({ password: false }), { password: REDACTED });
  });

  test('plain values pass through', () => {
    assert.equal(redact('text'), 'text');
    assert.equal(redact(7), 7);
    assert.equal(redact(null), null);
    assert.equal(redact(undefined), undefined);
    assert.deepEqual(redact(['a', 1, null]), ['a', 1, null]);
  });

  test('nesting deeper than 32 levels is cut off as redacted (hostile input), 32 levels are kept', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < levels; i++) v = { a: v };
      return v;
    };
    const leafOf = (v: unknown): unknown => {
      let cur = v;
      while (cur !== null && typeof cur === 'object') cur = (cur as { a: unknown }).a;
      return cur;
    };
    assert.equal(leafOf(redact(nest(32))), 'leaf');
    assert.equal(leafOf(redact(nest(33))), REDACTED);
    const arrays = (levels: number): unknown => {
      let v: unknown = 'leaf';
      for (let i = 0; i < levels; i++) v = [v];
      return v;
    };
    assert.equal(JSON.stringify(redact(arrays(32))), JSON.stringify(arrays(32)));
    assert.ok(JSON.stringify(redact(arrays(33))).includes(REDACTED));
  });
});
