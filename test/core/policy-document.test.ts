// Policy documents in every form AWS hands them over, read once for the policy and the trusted baseline.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyDocument, policyStatements, samePolicy } from '../../src/core/policy-document';

const DOC = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] };

describe('policy documents', () => {
  test('objects, JSON strings and URL-encoded JSON read the same; anything else is no document', () => {
    assert.deepEqual(parsePolicyDocument(DOC), DOC);
    assert.deepEqual(parsePolicyDocument(JSON.stringify(DOC)), DOC);
    assert.deepEqual(parsePolicyDocument(`  ${JSON.stringify(DOC, null, 2)}\n`), DOC);
    assert.deepEqual(parsePolicyDocument(encodeURIComponent(JSON.stringify(DOC))), DOC);
    for (const none of [undefined, null, '', '   ', 'arn:aws:iam::111122223333:role/x', '%E0%A4%A', '{"Version":', 42]) {
      assert.equal(parsePolicyDocument(none), undefined, JSON.stringify(none));
    }
  });

  test('samePolicy ignores key order and form, and tells different documents apart', () => {
    const reordered = { Statement: [{ Resource: 'arn:aws:s3:::b/*', Action: 's3:GetObject', Principal: '*', Effect: 'Allow' }], Version: '2012-10-17' };
    assert.equal(samePolicy(DOC, encodeURIComponent(JSON.stringify(reordered))), true);
    assert.equal(samePolicy(DOC, { ...DOC, Version: '2008-10-17' }), false);
    assert.equal(samePolicy(undefined, 'not json'), true, 'two non-documents are the same (nothing)');
    assert.equal(samePolicy(DOC, undefined), false);
  });

  test('statements: principals, NotAction, a missing or NotResource as "*", lower-cased condition keys, one Lambda statement', () => {
    const doc = policyStatements({
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::999988887777:root'], Service: 'lambda.amazonaws.com' }, NotAction: 'iam:*', NotResource: 'x', Condition: { StringEquals: { 'aws:SourceAccount': '1' } } },
        { Effect: 'Deny', Action: ['s3:*'], Resource: ['arn:aws:s3:::b'] },
      ],
    });
    assert.deepEqual(doc?.statements, [
      {
        allow: true,
        actions: ['iam:*'],
        notAction: true,
        resources: ['*'],
        principals: [
          { kind: 'AWS', value: 'arn:aws:iam::999988887777:root' },
          { kind: 'Service', value: 'lambda.amazonaws.com' },
        ],
        conditionKeys: ['aws:sourceaccount'],
      },
      { allow: false, actions: ['s3:*'], notAction: false, resources: ['arn:aws:s3:::b'], principals: [], conditionKeys: [] },
    ]);
    const lambda = policyStatements(JSON.stringify({ Sid: 's', Effect: 'Allow', Principal: '*', Action: 'lambda:InvokeFunction' }));
    assert.deepEqual(lambda?.statements[0]?.principals, [{ kind: 'AWS', value: '*' }]);
    assert.deepEqual(lambda?.statements[0]?.resources, ['*']);
    assert.equal(policyStatements('[1,2]'), null);
    assert.equal(policyStatements('not a policy'), null);
  });
});
