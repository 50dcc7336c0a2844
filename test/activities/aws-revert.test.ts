// revertChange against moto_server (real @aws-sdk/client-ec2 on the wire), plus a scripted EC2 error endpoint for the
// failures moto does not produce (denied, bad credentials, throttled, 5xx).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { createAwsClientFactory, planRevert, revertSessionName, type RuleSummary } from '../../src/revert';
import { createAwsActivities, type AwsDeps } from '../../activities/aws-revert';
import type { Change, RevertInput, RevertPlan, RevertResult } from '../../src/core/types';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012'; // moto's default account for plain (non-assumed) credentials
const CREDS = { accessKeyId: 'test', secretAccessKey: 'test' };

let moto: MotoServer;
let admin: EC2Client; // the "engineer" making changes and the test reading state back
let vpcId: string;
let seq = 0;

before(async () => {
  moto = await startMoto();
  admin = new EC2Client({ endpoint: moto.endpoint, region: REGION, credentials: CREDS, maxAttempts: 1 });
  const vpc = await admin.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  vpcId = vpc.Vpc?.VpcId ?? assert.fail('CreateVpc returned no VpcId');
});

after(async () => {
  admin?.destroy();
  await moto?.stop();
});

async function newGroup(ec2: EC2Client = admin, vpc: string = vpcId): Promise<string> {
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: `vouch-test-${++seq}`, Description: 'vouch revert test', VpcId: vpc }),
  );
  return sg.GroupId ?? assert.fail('CreateSecurityGroup returned no GroupId');
}

async function rulesOf(groupId: string, ec2: EC2Client = admin): Promise<SecurityGroupRule[]> {
  const res = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return res.SecurityGroupRules ?? [];
}

// ---- CloudTrail's EC2 shapes: lists wrapped in {items:[…]}, empty lists as {}, lower camel case ----

function wrap<T>(list: T[] | undefined): { items: T[] } | Record<string, never> {
  return list && list.length ? { items: list } : {};
}

function cloudTrailPermissions(perms: IpPermission[]): Record<string, unknown> {
  return wrap(
    perms.map((p) => ({
      ipProtocol: p.IpProtocol,
      ...(p.FromPort !== undefined ? { fromPort: p.FromPort } : {}),
      ...(p.ToPort !== undefined ? { toPort: p.ToPort } : {}),
      groups: wrap(p.UserIdGroupPairs?.map((g) => ({ groupId: g.GroupId }))),
      ipRanges: wrap(p.IpRanges?.map((r) => ({ cidrIp: r.CidrIp }))),
      ipv6Ranges: wrap(p.Ipv6Ranges?.map((r) => ({ cidrIpv6: r.CidrIpv6 }))),
      prefixListIds: wrap(p.PrefixListIds?.map((r) => ({ prefixListId: r.PrefixListId }))),
    })),
  );
}

function cloudTrailRuleSet(rules: SecurityGroupRule[]): Record<string, unknown> {
  return wrap(
    rules.map((r) => ({
      groupOwnerId: ACCOUNT,
      groupId: r.GroupId,
      securityGroupRuleId: r.SecurityGroupRuleId,
      isEgress: r.IsEgress,
      ipProtocol: r.IpProtocol,
      fromPort: r.FromPort ?? -1,
      toPort: r.ToPort ?? -1,
      ...(r.CidrIpv4 ? { cidrIpv4: r.CidrIpv4 } : {}),
      ...(r.CidrIpv6 ? { cidrIpv6: r.CidrIpv6 } : {}),
    })),
  );
}

function change(eventName: string, request: Record<string, unknown>, response: Record<string, unknown> | null): Change {
  return {
    eventId: `evt-${++seq}-0b6d4b1e-5c3f-4b8e-9d55-2f1c1f0f3a10`,
    eventTime: new Date().toISOString(),
    account: ACCOUNT,
    region: REGION,
    eventSource: 'ec2.amazonaws.com',
    eventName,
    actor: { type: 'IAMUser', name: 'alice' },
    request,
    response,
    summary: `${eventName} on ${String(request.groupId)}`,
  };
}

/** Opens the group with the real SDK and returns the change exactly as CloudTrail would record that call. */
async function authorize(direction: 'ingress' | 'egress', groupId: string, perms: IpPermission[]): Promise<Change> {
  const res =
    direction === 'ingress'
      ? await admin.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: perms }))
      : await admin.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: perms }));
  // moto (like AWS) answers Authorize with the created rules and their ids: the plan depends on it.
  assert.equal(res.SecurityGroupRules?.length, perms.flatMap((p) => [...(p.IpRanges ?? []), ...(p.Ipv6Ranges ?? [])]).length);
  return change(
    direction === 'ingress' ? 'AuthorizeSecurityGroupIngress' : 'AuthorizeSecurityGroupEgress',
    { groupId, ipPermissions: cloudTrailPermissions(perms) },
    { requestId: res.$metadata.requestId, _return: true, securityGroupRuleSet: cloudTrailRuleSet(res.SecurityGroupRules ?? []) },
  );
}

function inputFor(c: Change, plan: RevertPlan): RevertInput {
  return { plan, account: c.account, region: c.region, eventId: c.eventId };
}

function planOf(c: Change): RevertPlan {
  const { plan, reason } = planRevert(c);
  return plan ?? assert.fail(`no plan: ${reason}`);
}

const SSH_WORLD: IpPermission = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
const HTTPS_INTERNAL: IpPermission = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8' }] };

const activities = () => createAwsActivities(createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS }));

function failure(type: string, nonRetryable: boolean): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.equal(err.nonRetryable, nonRetryable, err.message);
    return true;
  };
}

describe('revertChange against moto_server', () => {
  test('an ingress rule opening tcp/22 to 0.0.0.0/0 is revoked by rule id and verified gone', async () => {
    const groupId = await newGroup();
    await admin.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [HTTPS_INTERNAL] }));
    const c = await authorize('ingress', groupId, [SSH_WORLD]);
    const plan = planOf(c);
    const ruleId = (plan.input.SecurityGroupRuleIds as string[])[0] ?? assert.fail('plan has no rule id');
    assert.match(ruleId, /^sgr-/);

    const result = await activities().revertChange(inputFor(c, plan));

    assert.equal(result.changed, true);
    assert.match(result.message, new RegExp(`revoked ingress ${ruleId}`));
    const ssh: RuleSummary = { id: ruleId, direction: 'ingress', protocol: 'tcp', ports: '22', cidr: '0.0.0.0/0' };
    assert.deepEqual((result.before as RuleSummary[]).find((r) => r.id === ruleId), ssh);
    assert.equal((result.after as RuleSummary[]).some((r) => r.id === ruleId), false);
    // Read back independently: only the world-open rule is gone; the internal rule and default egress stay.
    const left = await rulesOf(groupId);
    assert.equal(left.some((r) => r.SecurityGroupRuleId === ruleId), false);
    assert.ok(left.some((r) => !r.IsEgress && r.CidrIpv4 === '10.0.0.0/8' && r.FromPort === 443));
    assert.ok(left.some((r) => r.IsEgress && r.CidrIpv4 === '0.0.0.0/0' && r.IpProtocol === '-1'));
    assert.equal((result.after as RuleSummary[]).length, left.length);
  });

  test('a second revert of the same change is a no-op that reports changed: false', async () => {
    const groupId = await newGroup();
    const c = await authorize('ingress', groupId, [SSH_WORLD]);
    const plan = planOf(c);
    const acts = activities();
    assert.equal((await acts.revertChange(inputFor(c, plan))).changed, true);
    const rulesAfterFirst = await rulesOf(groupId);

    const again: RevertResult = await acts.revertChange(inputFor(c, plan));

    assert.equal(again.changed, false);
    assert.match(again.message, /already reverted/);
    assert.deepEqual(again.before, again.after);
    assert.equal((await rulesOf(groupId)).length, rulesAfterFirst.length);
  });

  test('an egress rule to 0.0.0.0/0 and ::/0 is revoked with RevokeSecurityGroupEgress, default egress untouched', async () => {
    const groupId = await newGroup();
    const c = await authorize('egress', groupId, [
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ]);
    const plan = planOf(c);
    assert.equal(plan.operation, 'RevokeSecurityGroupEgress');
    const ids = plan.input.SecurityGroupRuleIds as string[];
    assert.equal(ids.length, 2);

    const result = await activities().revertChange(inputFor(c, plan));

    assert.equal(result.changed, true);
    const before = result.before as RuleSummary[];
    assert.deepEqual(
      before.filter((r) => ids.includes(r.id)).map((r) => [r.direction, r.protocol, r.ports, r.cidr]).sort(),
      [
        ['egress', 'tcp', '0-65535', '0.0.0.0/0'],
        ['egress', 'tcp', '0-65535', '::/0'],
      ],
    );
    const left = await rulesOf(groupId);
    assert.equal(left.some((r) => ids.includes(r.SecurityGroupRuleId ?? '')), false);
    assert.deepEqual(
      left.map((r) => [r.IsEgress, r.IpProtocol, r.CidrIpv4]),
      [[true, '-1', '0.0.0.0/0']],
    );
  });

  test('when one of the planned rules is already gone, the rest is still revoked', async () => {
    const groupId = await newGroup();
    const c = await authorize('egress', groupId, [
      { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ]);
    const plan = planOf(c);
    const [first, second] = plan.input.SecurityGroupRuleIds as [string, string];
    await admin.send(new RevokeSecurityGroupEgressCommand({ GroupId: groupId, SecurityGroupRuleIds: [first] }));

    const result = await activities().revertChange(inputFor(c, plan));

    assert.equal(result.changed, true);
    assert.match(result.message, new RegExp(`revoked egress ${second}`));
    assert.match(result.message, new RegExp(`${first} already gone`));
    assert.equal((await rulesOf(groupId)).some((r) => r.SecurityGroupRuleId === second), false);
  });

  test('a change recorded without rule ids (flat CLI form) is reverted from IpPermissions', async () => {
    const groupId = await newGroup();
    // The CLI's flat form, as in the Stratus detonation: CidrIp/IpProtocol/FromPort/ToPort at the top level.
    const res = await admin.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        CidrIp: '0.0.0.0/0',
        IpProtocol: 'tcp',
        FromPort: 3389,
        ToPort: 3389,
      }),
    );
    const ruleId = res.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? assert.fail('no rule id from moto');
    // An older-style record: no securityGroupRuleSet in the response, so only the request can drive the revert.
    const c = change(
      'AuthorizeSecurityGroupIngress',
      { groupId, ipPermissions: {}, cidrIp: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 3389, toPort: 3389 },
      { requestId: res.$metadata.requestId, _return: true },
    );
    const plan = planOf(c);
    assert.deepEqual(plan.input, {
      GroupId: groupId,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    });
    const acts = activities();

    const result = await acts.revertChange(inputFor(c, plan));

    assert.equal(result.changed, true);
    assert.match(result.message, new RegExp(ruleId));
    assert.equal((await rulesOf(groupId)).some((r) => r.SecurityGroupRuleId === ruleId), false);
    const again = await acts.revertChange(inputFor(c, plan));
    assert.equal(again.changed, false);
    assert.match(again.message, /already reverted/);
  });

  test('a security group that no longer exists is reported as changed: false with a clear message', async () => {
    const groupId = await newGroup();
    const c = await authorize('ingress', groupId, [SSH_WORLD]);
    await admin.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));

    const result = await activities().revertChange(inputFor(c, planOf(c)));

    assert.equal(result.changed, false);
    assert.match(result.message, new RegExp(`security group ${groupId} no longer exists`));
    assert.deepEqual(result.before, []);
    assert.deepEqual(result.after, []);
  });

  test('a revoke that AWS acknowledges but that leaves the rule in place fails as RevertNotVerified', async () => {
    const groupId = await newGroup();
    const c = await authorize('ingress', groupId, [SSH_WORLD]);
    const ruleId = (planOf(c).input.SecurityGroupRuleIds as string[])[0];
    // A client whose Revoke answers "Return: true" without reaching moto: AWS said yes, but nothing changed.
    const deps: AwsDeps = {
      clientFor(service, account, region, sessionName) {
        const client = createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS }).clientFor(service, account, region, sessionName);
        (client as EC2Client).middlewareStack.add(
          (next, context) => async (args) =>
            context.commandName === 'RevokeSecurityGroupIngressCommand'
              ? { output: { Return: true, $metadata: {} }, response: {} }
              : next(args),
          { step: 'initialize', name: 'swallowRevoke' },
        );
        return client;
      },
    };

    await assert.rejects(createAwsActivities(deps).revertChange(inputFor(c, planOf(c))), (err: unknown) => {
      failure('RevertNotVerified', true)(err);
      assert.match((err as Error).message, new RegExp(`still present after the revoke: ${ruleId}`));
      return true;
    });
    assert.ok((await rulesOf(groupId)).some((r) => r.SecurityGroupRuleId === ruleId));
  });

  test('a plan for an operation vouch does not run is refused as RevertForbidden before any AWS call', async () => {
    let clients = 0;
    const deps: AwsDeps = {
      clientFor(service, account, region, sessionName) {
        clients++;
        return createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS }).clientFor(service, account, region, sessionName);
      },
    };
    const plan = {
      service: 'ec2',
      operation: 'DeleteSecurityGroup',
      input: { GroupId: 'sg-0123456789abcdef0' },
      description: 'delete the group',
    } as unknown as RevertPlan;

    await assert.rejects(
      createAwsActivities(deps).revertChange({ plan, account: ACCOUNT, region: REGION, eventId: 'e1' }),
      (err: unknown) => failure('RevertForbidden', true)(err) && /DeleteSecurityGroup/.test((err as Error).message),
    );
    assert.equal(clients, 0);
  });

  test('with a role template the revert runs in the target account as role session vouch-revert-<eventId>', async () => {
    const target = '111122223333';
    const factory = createAwsClientFactory({
      roleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert',
      endpoint: moto.endpoint,
      credentials: CREDS,
    });
    // moto scopes resources by the account of the assumed role: set the group up inside the target account.
    const inTarget = factory.clientFor('ec2', target, REGION, 'test-setup');
    const vpc = await inTarget.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }));
    const groupId = await newGroup(inTarget, vpc.Vpc?.VpcId ?? assert.fail('no vpc'));
    const res = await inTarget.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [SSH_WORLD] }));
    const c = {
      ...change('AuthorizeSecurityGroupIngress', { groupId, ipPermissions: cloudTrailPermissions([SSH_WORLD]) }, {
        _return: true,
        securityGroupRuleSet: cloudTrailRuleSet(res.SecurityGroupRules ?? []),
      }),
      account: target,
    };
    const ruleId = res.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? assert.fail('no rule id');
    const acts = createAwsActivities(factory);

    // The group does not exist in the default account: the account in the input is the one acted on.
    const elsewhere = await acts.revertChange({ ...inputFor(c, planOf(c)), account: ACCOUNT });
    assert.equal(elsewhere.changed, false);
    assert.match(elsewhere.message, /no longer exists/);

    const result = await acts.revertChange(inputFor(c, planOf(c)));

    assert.equal(result.changed, true);
    assert.equal((await rulesOf(groupId, inTarget)).some((r) => r.SecurityGroupRuleId === ruleId), false);
    const data = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as {
      sts?: { AssumedRole?: { account_id: string; role_arn: string; session_name: string }[] };
    };
    const sessions = (data.sts?.AssumedRole ?? []).filter((s) => s.session_name === revertSessionName(c.eventId));
    assert.ok(sessions.length > 0, 'no AssumeRole with the vouch-revert session name');
    assert.ok(sessions.some((s) => s.account_id === target && s.role_arn === `arn:aws:iam::${target}:role/vouch-revert`));
    inTarget.destroy();
  });
});

describe('revertSessionName', () => {
  test('is vouch-revert-<eventId>, limited to 64 characters of the allowed set', () => {
    assert.equal(revertSessionName('5d2c7a10-0000-4000-8000-000000000001'), 'vouch-revert-5d2c7a10-0000-4000-8000-000000000001');
    const odd = revertSessionName(`a b/c:d${'x'.repeat(80)}`);
    assert.equal(odd.length, 64);
    assert.match(odd, /^vouch-revert-a-b-c-d[\w+=,.@-]*$/);
  });
});

// ---- failures moto does not produce: a loopback EC2 endpoint answering scripted EC2 XML errors ----

interface Scripted {
  status: number;
  code: string;
}

describe('revertChange error handling (scripted EC2 endpoint)', () => {
  let server: http.Server;
  let endpoint = '';
  let next: Scripted = { status: 500, code: 'InternalError' };
  const received: { action: string; authorization: string }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        const authorization = String(req.headers.authorization ?? '');
        if (params.get('Action') === 'GetCallerIdentity' && /\/us-east-1\/sts\/aws4_request/.test(authorization)) {
          // STS, asked before any EC2 call which account the credentials belong to.
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end(
            `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
              `<Arn>arn:aws:iam::${ACCOUNT}:user/test</Arn><UserId>AIDATEST</UserId><Account>${ACCOUNT}</Account>` +
              `</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
          );
          return;
        }
        received.push({ action: params.get('Action') ?? '', authorization });
        // What EC2 checks first: a query-API call with a version, signed with SigV4 for the ec2 service.
        const signed = /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/ec2\/aws4_request/.test(authorization);
        if (req.method !== 'POST' || params.get('Version') !== '2016-11-15' || !signed) {
          res.writeHead(400).end('bad request');
          return;
        }
        res.writeHead(next.status, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${next.code}</Code>` +
            `<Message>scripted ${next.code}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const plan: RevertPlan = {
    service: 'ec2',
    operation: 'RevokeSecurityGroupIngress',
    input: { GroupId: 'sg-0123456789abcdef0', SecurityGroupRuleIds: ['sgr-0123456789abcdef0'] },
    description: 'revoke sgr-0123456789abcdef0 from sg-0123456789abcdef0',
  };
  const run = (s: Scripted): Promise<RevertResult> => {
    next = s;
    received.length = 0;
    return createAwsActivities(createAwsClientFactory({ endpoint, credentials: CREDS })).revertChange({
      plan,
      account: ACCOUNT,
      region: REGION,
      eventId: 'e-err',
    });
  };

  test('UnauthorizedOperation is a non-retryable RevertForbidden', async () => {
    await assert.rejects(run({ status: 403, code: 'UnauthorizedOperation' }), failure('RevertForbidden', true));
    assert.equal(received[0]?.action, 'DescribeSecurityGroupRules');
  });

  test('AuthFailure is a non-retryable InvalidCredentials', async () => {
    await assert.rejects(run({ status: 401, code: 'AuthFailure' }), failure('InvalidCredentials', true));
  });

  test('RequestLimitExceeded is a retryable RateLimited with a retry delay, after at most two SDK attempts', async () => {
    await assert.rejects(run({ status: 503, code: 'RequestLimitExceeded' }), (err: unknown) => {
      failure('RateLimited', false)(err);
      assert.ok((err as ApplicationFailure).nextRetryDelay);
      return true;
    });
    assert.equal(received.length, 2);
  });

  test('a 5xx is retryable and the SDK gives up after two attempts, leaving the backoff to Temporal', async () => {
    await assert.rejects(run({ status: 500, code: 'InternalError' }), failure('AwsUnavailable', false));
    assert.equal(received.length, 2);
  });

  test('an unreachable endpoint is retryable', async () => {
    const closed = createAwsActivities(createAwsClientFactory({ endpoint: 'http://127.0.0.1:9', credentials: CREDS }));
    await assert.rejects(
      closed.revertChange({ plan, account: ACCOUNT, region: REGION, eventId: 'e-down' }),
      failure('AwsUnavailable', false),
    );
  });

  test('any other client error is a non-retryable VendorRejected', async () => {
    await assert.rejects(run({ status: 400, code: 'InvalidParameterValue' }), failure('VendorRejected', true));
  });
});

test('a revert in a region AWS does not have fails at once, without retries', async () => {
  const { createAwsActivities } = await import('../../activities/aws-revert');
  const acts = createAwsActivities({
    clientFor: () => {
      throw new Error('must not build a client');
    },
  });
  await assert.rejects(
    acts.revertChange({
      plan: { service: 'ec2', operation: 'RevokeSecurityGroupIngress', input: { GroupId: 'sg-1', SecurityGroupRuleIds: ['sgr-1'] }, description: 'x' },
      account: '123456789012',
      region: 'us-northeast-1r',
      eventId: 'e1',
    }),
    (err: unknown) => err instanceof Error && /not an AWS region name/.test(err.message) && (err as { nonRetryable?: boolean }).nonRetryable === true,
  );
});

test('a revert input without a plan fails at once as a non-retryable BadInput, naming what is missing', async () => {
  let clients = 0;
  const acts = createAwsActivities({
    clientFor: () => {
      clients++;
      throw new Error('must not build a client');
    },
  });
  const input = { account: '123456789012', region: 'us-east-1', eventId: 'e1' } as unknown as RevertInput;
  await assert.rejects(acts.revertChange(input), (err: unknown) => {
    failure('BadInput', true)(err);
    assert.match((err as Error).message, /no plan/);
    return true;
  });
  assert.equal(clients, 0);
});
