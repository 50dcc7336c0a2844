// Policy documents in the policy language: policyFederated, on the statements src/core/policy-document.ts reads.
// What a document allows (policyPublic, policyForeignAccount, policyGrants, policyAllows) is analysed in analysis/.
import type { PolicyStatements } from '../core/policy-document';

export function isFederated(doc: PolicyStatements): boolean {
  return doc.statements.some(
    (s) =>
      s.allow &&
      (s.principals.some((p) => p.kind === 'Federated') ||
        s.actions.some((a) => /^sts:AssumeRoleWith(WebIdentity|SAML)$/i.test(a))),
  );
}
