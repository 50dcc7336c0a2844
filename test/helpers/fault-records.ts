// CloudTrail records for the fault tests, each built for a known verdict of the shipped default policy, written
// down here from src/policy/default-policy.yaml (the rule each one is made to hit, and that rule's tier) rather than
// asked of the policy engine under test:
//
//   openedToWorld(443)   AuthorizeSecurityGroupIngress 0.0.0.0/0 on 443     sg-ingress-world        confirm  (revert: allow)
//   openedToWorld(22)    AuthorizeSecurityGroupIngress 0.0.0.0/0 on 22      sg-ingress-world-admin  revert
//   userDataReplaced     ModifyInstanceAttribute with userData              ec2-user-data-changed   page     (revert: never)
//   loginProfileCreated  CreateLoginProfile (a console password)            iam-user-or-login-created confirm
//   readOnly             Describe*/List*/Get* calls, readOnly: true         no rule: ignored
//
// Security-group changes are made for real in moto first (its default account), so a revert has something to undo
// and the tests can see whether it is gone.
import { randomUUID } from 'node:crypto';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';

export type Rec = Record<string, unknown>;

/** People the demo's Slack and Duo stand-ins know (src/demo/stack.ts DEMO_USERS), reached by their e-mail. */
export const PEOPLE = ['alice', 'bob', 'carol'] as const;
export type PersonName = (typeof PEOPLE)[number];

export const RULES = {
  world: { rule: 'sg-ingress-world', tier: 'confirm' },
  admin: { rule: 'sg-ingress-world-admin', tier: 'revert' },
  userData: { rule: 'ec2-user-data-changed', tier: 'page' },
  loginProfile: { rule: 'iam-user-or-login-created', tier: 'confirm' },
} as const;

/** An engineer signed in through IAM Identity Center: the session name is their e-mail, which finds them in Slack. */
export function engineer(name: PersonName, account: string): Rec {
  const role = 'AWSReservedSSO_Developer_0123456789abcdef';
  return {
    type: 'AssumedRole',
    principalId: `AROAFAULTTESTROLE0001:${name}@example.com`,
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}@example.com`,
    accountId: account,
    accessKeyId: 'ASIAFAULTTESTKEY0001',
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAFAULTTESTROLE0001', arn: `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/${role}`, accountId: account, userName: role },
      attributes: { creationDate: new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, 'Z'), mfaAuthenticated: 'false' },
    },
  };
}

function base(opts: { account: string; region: string; actor: Rec; eventSource: string; eventName: string; readOnly?: boolean; eventId?: string }): Rec {
  return {
    eventVersion: '1.10',
    userIdentity: opts.actor,
    eventTime: new Date(Date.now() - 5_000).toISOString().replace(/\.\d+Z$/, 'Z'),
    eventSource: opts.eventSource,
    eventName: opts.eventName,
    awsRegion: opts.region,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.17.0',
    requestID: randomUUID(),
    eventID: opts.eventId ?? randomUUID(),
    readOnly: opts.readOnly ?? false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: opts.account,
    eventCategory: 'Management',
  };
}

export interface SgChange {
  groupId: string;
  ruleId: string;
  port: number;
}

/** Opens `port` to 0.0.0.0/0 on a new security group in moto; returns the group and the rule moto made. */
export async function openInMoto(ec2: EC2Client, port: number): Promise<SgChange> {
  const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `fault-${randomUUID().slice(0, 12)}`, Description: 'vouch fault test' }));
  if (!GroupId) throw new Error('moto created no security group');
  const out = await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }),
  );
  const ruleId = out.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
  if (!ruleId) throw new Error(`moto returned no rule id for ${GroupId}`);
  return { groupId: GroupId, ruleId, port };
}

/** Is the rule still on its group in moto? */
export async function rulePresent(ec2: EC2Client, sg: SgChange): Promise<boolean> {
  const out = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [sg.groupId] }] }));
  return (out.SecurityGroupRules ?? []).some((r) => r.SecurityGroupRuleId === sg.ruleId);
}

/** The CloudTrail record of `openInMoto`'s change, as CloudTrail writes it (request and the rule set returned). */
export function openedToWorld(opts: { account: string; region: string; actor: Rec; sg: SgChange; eventId?: string }): Rec {
  const { sg } = opts;
  return {
    ...base({ ...opts, eventSource: 'ec2.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress' }),
    requestParameters: {
      groupId: sg.groupId,
      ipPermissions: {
        items: [{ ipProtocol: 'tcp', fromPort: sg.port, toPort: sg.port, groups: {}, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] }, ipv6Ranges: {}, prefixListIds: {} }],
      },
    },
    responseElements: {
      requestId: randomUUID(),
      _return: true,
      securityGroupRuleSet: {
        items: [
          { groupOwnerId: opts.account, groupId: sg.groupId, securityGroupRuleId: sg.ruleId, isEgress: false, ipProtocol: 'tcp', fromPort: sg.port, toPort: sg.port, cidrIpv4: '0.0.0.0/0' },
        ],
      },
    },
  };
}

/** A security-group record that is not enacted anywhere (intake tests: the review only has to start). */
export function openedToWorldOnPaper(opts: { account: string; region: string; actor: Rec; port?: number; eventId?: string }): Rec {
  const n = randomUUID().replace(/-/g, '').slice(0, 17);
  return openedToWorld({ ...opts, sg: { groupId: `sg-0${n}`, ruleId: `sgr-0${n}`, port: opts.port ?? 443 } });
}

/** ModifyInstanceAttribute replacing an instance's user data: paged at once, the engineer still asked. */
export function userDataReplaced(opts: { account: string; region: string; actor: Rec; userData?: string; eventId?: string }): Rec {
  return {
    ...base({ ...opts, eventSource: 'ec2.amazonaws.com', eventName: 'ModifyInstanceAttribute' }),
    requestParameters: { instanceId: `i-0${randomUUID().replace(/-/g, '').slice(0, 16)}`, userData: opts.userData ?? '<sensitiveDataRemoved>' },
    responseElements: { requestId: randomUUID(), _return: true },
  };
}

/** CreateLoginProfile: a console password for an IAM user (the password in the request, as a test's secret). */
export function loginProfileCreated(opts: { account: string; region: string; actor: Rec; userName: string; password: string; eventId?: string }): Rec {
  return {
    ...base({ ...opts, eventSource: 'iam.amazonaws.com', eventName: 'CreateLoginProfile' }),
    requestParameters: { userName: opts.userName, password: opts.password, passwordResetRequired: false },
    responseElements: { loginProfile: { userName: opts.userName, createDate: new Date().toUTCString(), passwordResetRequired: false } },
  };
}

const READS: Array<[string, string]> = [
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['iam.amazonaws.com', 'GetUser'],
  ['cloudtrail.amazonaws.com', 'LookupEvents'],
];

/** A read-only call: no rule, ignored. */
export function readOnly(opts: { account: string; region: string; actor: Rec; n: number }): Rec {
  const [eventSource, eventName] = READS[opts.n % READS.length] as [string, string];
  return { ...base({ ...opts, eventSource, eventName, readOnly: true }), requestParameters: null, responseElements: null };
}

/** An EventBridge "AWS API Call via CloudTrail" envelope around a record, as the rule delivers it to SQS. */
export function envelope(record: Rec): Rec {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${String(record.eventSource).split('.')[0]}`,
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}
