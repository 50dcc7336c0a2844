// Hand-written CloudTrail records for the policy tests: one builder, overrides per test.
import { normalise } from '../../src/intake/normalise';
import type { Actor, Change } from '../../src/core/types';
import { classifier, type Assessment, type Policy } from '../../src/policy';

export const ACCOUNT = '111122223333';

export function iamUser(name: string, account = ACCOUNT): Record<string, unknown> {
  return { type: 'IAMUser', principalId: `AIDA${name.toUpperCase()}`, arn: `arn:aws:iam::${account}:user/${name}`, accountId: account, userName: name };
}

export function assumedRole(role: string, session: string, account = ACCOUNT): Record<string, unknown> {
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLE:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    accountId: account,
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLE', arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
      attributes: { creationDate: '2026-11-28T09:00:00Z', mfaAuthenticated: 'false' },
    },
  };
}

let seq = 0;

/** A successful write call by IAM user bob, unless overridden. */
export function record(overrides: Record<string, unknown>): Record<string, unknown> {
  seq += 1;
  return {
    eventVersion: '1.10',
    userIdentity: iamUser('bob'),
    eventTime: '2026-11-28T10:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.17.0',
    requestParameters: {},
    responseElements: null,
    eventID: `test-${seq}-${Math.random().toString(16).slice(2)}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
    ...overrides,
  };
}

export function change(overrides: Record<string, unknown>): Change {
  return normalise(record(overrides), 'test', 0);
}

/** AuthorizeSecurityGroupIngress, CLI (flat) form. */
export function sgFlat(cidr: string, from: number, to = from, protocol = 'tcp', extra: Record<string, unknown> = {}): Change {
  return change({
    requestParameters: { groupId: 'sg-1', ipPermissions: {}, cidrIp: cidr, fromPort: from, toPort: to, ipProtocol: protocol },
    ...extra,
  });
}

/** AuthorizeSecurityGroupIngress, SDK/console (nested) form. */
export function sgNested(perms: { protocol: string; from?: number; to?: number; cidrs: string[]; v6?: string[] }[], extra: Record<string, unknown> = {}): Change {
  return change({
    requestParameters: {
      groupId: 'sg-2',
      ipPermissions: {
        items: perms.map((p) => ({
          ipProtocol: p.protocol,
          ...(p.from !== undefined ? { fromPort: p.from, toPort: p.to ?? p.from } : {}),
          groups: {},
          ipRanges: p.cidrs.length ? { items: p.cidrs.map((c) => ({ cidrIp: c })) } : {},
          ipv6Ranges: p.v6?.length ? { items: p.v6.map((c) => ({ cidrIpv6: c })) } : {},
          prefixListIds: {},
        })),
      },
    },
    ...extra,
  });
}

/**
 * The fast answer `vouch classify` gives from a record's key fields alone (the production classifier: vouch's own
 * revert, a read-only call, the floor of a write no rule is about), or null when the whole record must be assessed.
 */
export function quickAssess(
  f: { eventSource: string; eventName: string; readOnly?: boolean; actor: Actor; account: string },
  p: Policy,
): Assessment | null {
  const c = classifier(p);
  const q = c.quickIgnore(f.eventSource, f.eventName, f.readOnly, f.actor, f.account);
  return q ? c.ignored(q) : c.quickFloor(f.eventSource, f.eventName, f.readOnly, f.actor, 'AwsApiCall', undefined);
}
