// The revert role's least-privilege policy is generated from what vouch can run: every revert call and read-back of
// the handler table, the baseline reads, nothing else; every operation the planner can produce is covered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { revertRolePolicy, baselineStorePolicy, iamPolicyCommand } from '../../src/cli/iam-policy';
import { runCommand } from '../../src/cli/program';
import { REVERTIBLE_EVENTS, revertCatalogue } from '../../src/revert';
import { CAPTURE_IAM_ACTIONS } from '../../src/revert/baseline/capture';

const S3_ACTION: Record<string, string> = { 's3:PutPublicAccessBlock': 's3:PutBucketPublicAccessBlock', 's3control:PutPublicAccessBlock': 's3:PutAccountPublicAccessBlock' };

test('every operation the planner produces has a handler, and the policy allows its IAM action', () => {
  const policy = revertRolePolicy();
  const allowed = new Set(policy.Statement.flatMap((s) => s.Action));
  const produced = new Set(REVERTIBLE_EVENTS.flatMap((e) => e.produces));
  for (const op of produced) {
    const [service, operation] = op.split(':') as [string, string];
    assert.ok(revertCatalogue().some((c) => c.service === service && c.operation === operation), `no handler runs ${op}`);
    const action = S3_ACTION[op] ?? `${service === 's3control' ? 's3' : service}:${operation}`;
    assert.ok(allowed.has(action), `policy lacks ${action} for ${op}`);
  }
  // No handler is unreachable from the planner (nothing in the policy that vouch never plans).
  for (const c of revertCatalogue()) assert.ok(produced.has(`${c.service}:${c.operation}`), `${c.service}:${c.operation} is never planned`);
});

test('the policy has the revert calls, the read-backs and the baseline reads, each once, with no wildcards', () => {
  const policy = revertRolePolicy();
  assert.deepEqual(policy.Statement.map((s) => s.Sid), ['VouchRevert', 'VouchVerifyRevert', 'VouchBaselineCapture']);
  const all = policy.Statement.flatMap((s) => s.Action);
  assert.equal(new Set(all).size, all.length, 'no action twice');
  assert.ok(all.every((a) => /^[a-z0-9-]+:[A-Za-z]+$/.test(a)), 'no wildcards');
  const reads = new Set(revertCatalogue().flatMap((c) => c.readActions));
  for (const a of [...reads, ...CAPTURE_IAM_ACTIONS]) assert.ok(all.includes(a), `missing ${a}`);
  // Writes are only the revert calls (never Create*, Attach*, Add*, or Delete of anything but a policy vouch restores).
  const writes = policy.Statement[0]?.Action ?? [];
  assert.ok(writes.every((a) => !/:(Create|Attach|Add|Authorize|Schedule|Disable(?!SerialConsole)|Stop)/.test(a)), writes.join(' '));
  assert.deepEqual(revertRolePolicy({ baseline: false }).Statement.map((s) => s.Sid), ['VouchRevert', 'VouchVerifyRevert']);
});

test('vouch iam-policy prints the JSON; --store prints the store policy for vouch\'s own principal', async () => {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
  try {
    assert.equal(await runCommand(iamPolicyCommand(), []), 0);
    assert.equal(await runCommand(iamPolicyCommand(), ['--store', 's3://vouch-state/baseline']), 0);
  } finally {
    process.stdout.write = write;
  }
  const [role, store] = chunks.map((c) => JSON.parse(c) as unknown);
  assert.deepEqual(role, revertRolePolicy());
  assert.deepEqual(store, baselineStorePolicy('s3://vouch-state/baseline'));
  assert.deepEqual((store as ReturnType<typeof baselineStorePolicy>).Statement[0]?.Resource, 'arn:aws:s3:::vouch-state/baseline*');
  assert.equal(await runCommand(iamPolicyCommand(), ['--store', 'not-s3']), 2);
});
