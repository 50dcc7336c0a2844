// The vendor clients the worker builds from its settings (activities/clients.ts): each setting reaches the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { awsClients, duoClient, pagerDutyClients } from '../../activities/clients';

const PD = {
  PAGERDUTY_ROUTING_KEY: 'R'.repeat(32),
  PAGERDUTY_EVENTS_SERVER: 'events.example.test',
  PAGERDUTY_API_SERVER: 'api.example.test',
};

test('PagerDuty: the Events API always; the REST API (on-call) only with both the token and the escalation policy', () => {
  const agent = new https.Agent();
  const eventsOnly = pagerDutyClients(PD, agent);
  assert.deepEqual(eventsOnly, { pagerduty: { routingKey: PD.PAGERDUTY_ROUTING_KEY, server: 'events.example.test', agent } });
  assert.equal(pagerDutyClients({ ...PD, PAGERDUTY_API_TOKEN: 'token-of-twenty-chars' }).oncall, undefined);

  const both = pagerDutyClients({ ...PD, PAGERDUTY_API_TOKEN: 'token-of-twenty-chars', PAGERDUTY_ESCALATION_POLICY_ID: 'PABC123' }, agent);
  assert.deepEqual(both.oncall, { apiToken: 'token-of-twenty-chars', escalationPolicyId: 'PABC123', server: 'api.example.test', agent });
  assert.equal(pagerDutyClients(PD).pagerduty.agent, undefined);
});

test('AWS: clients act against AWS_ENDPOINT_URL when set, and refuse an account id that is not one', async () => {
  const { clientFor } = awsClients({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4599', VOUCH_REVERT_ROLE_ARN_TEMPLATE: 'arn:aws:iam::{account}:role/vouch-revert' });
  const ec2 = clientFor('ec2', '123456789012', 'eu-west-1', 'vouch-revert-e1');
  const endpoint = await ec2.config.endpoint?.();
  assert.equal(endpoint?.hostname, '127.0.0.1');
  assert.equal(endpoint?.port, 4599);
  assert.equal(await ec2.config.region(), 'eu-west-1');
  ec2.destroy();
  assert.throws(() => clientFor('iam', '12345', 'us-east-1', 's'), /not an AWS account id/);
  // Without a revert role vouch's own credentials never act for a record.
  assert.throws(() => awsClients({}).clientFor('ec2', '123456789012', 'us-east-1', 's'), (err: Error & { type?: string }) => err.type === 'RevertRoleUnavailable');
});

test('Duo: the library client for the configured integration and host', () => {
  const duo = duoClient({ DUO_IKEY: `DI${'A'.repeat(18)}`, DUO_SKEY: 's'.repeat(40), DUO_API_HOST: 'api-12345678.duosecurity.com' });
  // duo_api's Client keeps what it signs with and where it calls.
  const fields = duo as unknown as { ikey: string; host: string };
  assert.deepEqual([fields.ikey, fields.host], [`DI${'A'.repeat(18)}`, 'api-12345678.duosecurity.com']);
  assert.equal(typeof duo.apiCall, 'function');
});
