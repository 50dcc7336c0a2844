// The EC2 stand-in checks signatures as EC2 does, driven by the real @aws-sdk/client-ec2: the right secret passes, a
// wrong secret or an unknown key is AuthFailure, and a request dated outside EC2's 15-minute window is RequestExpired.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EC2Client, GetSerialConsoleAccessStatusCommand } from '@aws-sdk/client-ec2';
import { startEc2StandIn, type Ec2StandIn } from './ec2';

let ec2: Ec2StandIn;

function client(opts: { key?: string; secret?: string; clockOffsetMs?: number } = {}): EC2Client {
  return new EC2Client({
    region: 'eu-west-1',
    endpoint: ec2.endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: opts.key ?? 'AKIAEC2STANDIN000001', secretAccessKey: opts.secret ?? 'ec2-secret' },
    ...(opts.clockOffsetMs !== undefined ? { systemClockOffset: opts.clockOffsetMs } : {}),
  });
}

const status = (c: EC2Client) => c.send(new GetSerialConsoleAccessStatusCommand({}));
const refusedWith = (code: string) => (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
  assert.equal(err.name, code, err.message);
  return true;
};

before(async () => {
  ec2 = await startEc2StandIn({ accessKeyId: 'AKIAEC2STANDIN000001', secretAccessKey: 'ec2-secret' });
});
after(async () => {
  await ec2?.stop();
});

describe('EC2 stand-in signature checks', () => {
  test('the right key and secret pass, also ten minutes off (inside EC2’s window)', async () => {
    assert.equal((await status(client())).SerialConsoleAccessEnabled, false);
    assert.equal((await status(client({ clockOffsetMs: -10 * 60_000 }))).SerialConsoleAccessEnabled, false);
  });

  test('a wrong secret and an unknown key are AuthFailure; twenty minutes off, either way, is RequestExpired', async () => {
    await assert.rejects(status(client({ secret: 'not-the-secret' })), refusedWith('AuthFailure'));
    await assert.rejects(status(client({ key: 'AKIAUNKNOWN000000001' })), refusedWith('AuthFailure'));
    await assert.rejects(status(client({ clockOffsetMs: -20 * 60_000 })), refusedWith('RequestExpired'));
    await assert.rejects(status(client({ clockOffsetMs: 20 * 60_000 })), refusedWith('RequestExpired'));
  });
});
