// Policy documents in the policy language: the tests behind policyGrants, policyPublic, policyForeignAccount and
// policyFederated, on the statements src/core/policy-document.ts reads.
import { globTest } from '../core/glob';
import type { PolicyStatements } from '../core/policy-document';
import type { Facts } from './paths';

/** Does an Allow statement grant `action` (e.g. "*" or "iam:*") on every resource ("*")? IAM actions ignore case. */
export function grants(doc: PolicyStatements, action: string): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      (s.notAction || s.actions.some((a) => globTest(a, action, { ignoreCase: true }))) &&
      s.resources.some((r) => r === '*'),
  );
}

/** Condition keys that tie a public principal down to an organisation, account, source or network. */
const NARROWING_KEYS = new Set(
  [
    'aws:SourceArn',
    'aws:SourceAccount',
    'aws:SourceOwner',
    'aws:SourceOrgID',
    'aws:SourceOrgPaths',
    'aws:PrincipalOrgID',
    'aws:PrincipalOrgPaths',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:SourceIp',
    'aws:userid',
    'aws:username',
    'kms:CallerAccount',
    'kms:ViaService',
    'lambda:FunctionUrlAuthType',
  ].map((k) => k.toLowerCase()),
);

export function isPublic(doc: PolicyStatements): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      s.principals.some((p) => (p.kind === 'AWS' || p.kind === '*') && p.value === '*') &&
      !s.conditionKeys.some((k) => NARROWING_KEYS.has(k)),
  );
}

export function hasForeignPrincipal(doc: PolicyStatements, f: Facts): boolean {
  return doc.statements.some((s) => s.allow && s.principals.some((p) => p.kind === 'AWS' && f.isForeignAccount(p.value)));
}

export function isFederated(doc: PolicyStatements): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      (s.principals.some((p) => p.kind === 'Federated') ||
        s.actions.some((a) => /^sts:AssumeRoleWith(WebIdentity|SAML)$/i.test(a))),
  );
}
