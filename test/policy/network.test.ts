// Network exposure by address coverage in the shipped policy: the union of every range a record opens, per port,
// as a share of the public internet (prefix-list entries from the caller's context when known).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assess, loadPolicy } from '../../src/policy';
import { change, sgFlat, sgNested } from './records';

const policy = loadPolicy();

describe('security groups by coverage', () => {
  test('one range or several, IPv4 or IPv6: the union is what counts', () => {
    const tier = (c: ReturnType<typeof change>) => assess(c, policy).tier;
    assert.equal(tier(sgNested([{ protocol: 'tcp', from: 22, cidrs: ['0.0.0.0/1', '128.0.0.0/1'] }])), 'revert');
    assert.equal(tier(sgNested([{ protocol: 'tcp', from: 22, cidrs: ['0.0.0.0/1'] }, { protocol: 'tcp', from: 22, cidrs: ['128.0.0.0/1'] }])), 'revert');
    assert.equal(tier(sgNested([{ protocol: 'tcp', from: 22, cidrs: [], v6: ['::/1', '8000::/1'] }])), 'revert');
    // All traffic from one half and SSH from the other: port 22 is open to the world.
    assert.equal(tier(sgNested([{ protocol: '-1', cidrs: ['0.0.0.0/1'] }, { protocol: 'tcp', from: 22, cidrs: ['128.0.0.0/1'] }])), 'revert');
    assert.equal(tier(sgFlat('10.0.0.0/8', 22)), 'ignore', 'a private range reaches nobody outside');
    assert.equal(tier(sgFlat('198.51.100.0/24', 22)), 'ignore', 'an office range');
  });

  test('a quarter of the internet on an administration port reverts; a /8 pages; either on another port asks', () => {
    const quarter = assess(sgFlat('64.0.0.0/2', 22), policy);
    assert.equal(quarter.tier, 'revert');
    assert.match(quarter.reasons[0] ?? '', /opened to 64\.0\.0\.0\/2 \(about 28% of the internet\) on port 22/);
    const slash8 = assess(sgFlat('1.0.0.0/8', 3389), policy);
    assert.equal(slash8.tier, 'page');
    assert.deepEqual(slash8.rules, ['sg-ingress-wide-admin']);
    assert.equal(assess(sgFlat('64.0.0.0/2', 443), policy).tier, 'confirm');
    assert.equal(assess(sgFlat('0.0.0.0/0', 22), policy).reasons[0], 'security group sg-1 opened to 0.0.0.0/0 on port 22');
  });

  test('prefix lists: entries known from the context are counted; unknown ones on an administration port ask', () => {
    const viaList = () =>
      change({
        requestParameters: {
          groupId: 'sg-3',
          ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: {}, ipv6Ranges: {}, prefixListIds: { items: [{ prefixListId: 'pl-0abc' }] } }] },
        },
      });
    const unknown = assess(viaList(), policy);
    assert.equal(unknown.tier, 'confirm');
    assert.match(unknown.reasons[0] ?? '', /prefix list pl-0abc \(entries unknown to vouch\) on port 22/);
    const entries = (id: string) => (id === 'pl-0abc' ? ['0.0.0.0/1', '128.0.0.0/1'] : undefined);
    assert.equal(assess(viaList(), policy, { context: { prefixListEntries: entries } }).tier, 'revert');
    const office = (id: string) => (id === 'pl-0abc' ? ['198.51.100.0/24'] : undefined);
    assert.equal(assess(viaList(), policy, { context: { prefixListEntries: office } }).tier, 'ignore');
  });

  test('a prefix list filled with the world is itself a finding', () => {
    const create = assess(
      change({ eventName: 'CreateManagedPrefixList', requestParameters: { CreateManagedPrefixListRequest: { PrefixListName: 'office', AddressFamily: 'IPv4', MaxEntries: 5, Entry: [{ Cidr: '0.0.0.0/1' }, { Cidr: '128.0.0.0/1' }] } } }),
      policy,
    );
    assert.equal(create.tier, 'confirm');
    assert.match(create.reasons[0] ?? '', /prefix list office now holds 0\.0\.0\.0\/1, 128\.0\.0\.0\/1 \(the whole internet\)/);
    const modify = assess(change({ eventName: 'ModifyManagedPrefixList', requestParameters: { ModifyManagedPrefixListRequest: { PrefixListId: 'pl-1', AddEntry: { Cidr: '::/0' } } } }), policy);
    assert.equal(modify.tier, 'confirm');
  });

  test('network ACLs and routes by coverage too', () => {
    const nacl = (cidr: string) => assess(change({ eventName: 'CreateNetworkAclEntry', requestParameters: { networkAclId: 'acl-1', ruleNumber: 100, ruleAction: 'allow', egress: false, cidrBlock: cidr, protocol: '6' } }), policy).tier;
    assert.equal(nacl('128.0.0.0/1'), 'confirm');
    assert.equal(nacl('10.0.0.0/8'), 'ignore');
    const route = assess(change({ eventName: 'CreateRoute', requestParameters: { routeTableId: 'rtb-1', destinationCidrBlock: '0.0.0.0/1', gatewayId: 'igw-1' } }), policy);
    assert.equal(route.tier, 'notify');
  });
});
