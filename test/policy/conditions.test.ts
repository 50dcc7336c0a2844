// The condition language on its own (README "Writing a policy"): any / all / not / some-where, several fields, every,
// exists, equalsField / notEqualsField, an empty `when`, and the mistakes a policy author is told about. Each case is a
// one-rule policy on a StopLogging call whose request the test writes, so the expected tier follows from the case.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assess, parsePolicy, PolicyError, type Policy } from '../../src/policy';
import { change } from './records';

function rule(when: string, reason = 'matched'): Policy {
  return parsePolicy(
    `version: 1\nthresholds: { notify: 20, confirm: 50, page: 80 }\nrules:\n  - id: r\n    title: r\n    events: [StopLogging]\n    when: ${when}\n    score: 60\n    reason: '${reason}'\n`,
    'inline',
  );
}

/** Does the one rule match a StopLogging call with this request? */
function matches(p: Policy, request: Record<string, unknown>): boolean {
  const a = assess(change({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging', requestParameters: request }), p);
  return a.rules.includes('r');
}

/** The problems parsePolicy reports for this `when`, as "path: message". */
function problems(when: string): string[] {
  try {
    rule(when);
  } catch (err) {
    assert.ok(err instanceof PolicyError, String(err));
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail(`no problem reported for ${when}`);
}

describe('condition combinators', () => {
  test('any: one branch is enough; all: every branch; not: the opposite', () => {
    const any = rule('[{ any: [{ field: request.a, equals: 1 }, { field: request.b, equals: 2 }] }]');
    assert.equal(matches(any, { a: 1 }), true);
    assert.equal(matches(any, { b: 2 }), true);
    assert.equal(matches(any, { a: 2, b: 1 }), false);
    const all = rule('[{ all: [{ field: request.a, equals: 1 }, { field: request.b, equals: 2 }] }]');
    assert.equal(matches(all, { a: 1, b: 2 }), true);
    assert.equal(matches(all, { a: 1 }), false);
    assert.equal(matches(all, { b: 2 }), false);
    const not = rule('[{ not: { field: request.a, equals: 1 } }]');
    assert.equal(matches(not, { a: 1 }), false);
    assert.equal(matches(not, { a: 3 }), true);
  });

  test('several conditions in `when` must all hold; an empty `when` always holds', () => {
    const two = rule('[{ field: request.a, equals: 1 }, { field: request.b, equals: 2 }]');
    assert.equal(matches(two, { a: 1, b: 2 }), true);
    assert.equal(matches(two, { a: 1, b: 3 }), false);
    assert.equal(matches(two, { a: 0, b: 2 }), false);
    assert.equal(matches(rule('[]'), {}), true);
    const one = rule('[{ field: request.a, equals: 1 }]');
    assert.equal(matches(one, { a: 1 }), true);
    assert.equal(matches(one, { a: 2 }), false);
  });

  test('some/where: one element meets every where-condition; that element is $ in the reason', () => {
    const p = rule('[{ some: request.items, where: [{ field: port, equals: 22 }, { field: cidr, equals: world }] }]', 'port {$.port} to {$.cidr} ({$.name})');
    const at = (items: unknown[]) => assess(change({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging', requestParameters: { items } }), p);
    const hit = at([{ name: 'first', port: 22, cidr: 'office' }, { name: 'second', port: 22, cidr: 'world' }, { name: 'third', port: 22, cidr: 'world' }]);
    assert.deepEqual(hit.rules, ['r']);
    assert.deepEqual(hit.reasons, ['port 22 to world (second)'], 'the first element that meets all of where');
    assert.deepEqual(at([{ port: 22, cidr: 'office' }, { port: 80, cidr: 'world' }]).rules, [], 'no single element meets both');
    assert.deepEqual(at([]).rules, []);
    // Without `field`, a where-condition is about the element itself.
    const scalars = rule('[{ some: request.names, where: [{ matches: "admin-*" }] }]');
    assert.equal(matches(scalars, { names: ['dev', 'admin-1'] }), true);
    assert.equal(matches(scalars, { names: ['dev', 'ops'] }), false);
  });
});

describe('leaf conditions', () => {
  test('a list of fields: any value of any of them; with every: true, all values must pass', () => {
    const either = rule('[{ field: [request.a, request.b], equals: x }]');
    assert.equal(matches(either, { a: 'x' }), true);
    assert.equal(matches(either, { b: 'x' }), true);
    assert.equal(matches(either, { a: 'y', b: 'z' }), false);
    const some = rule('[{ field: request.list, equals: x }]');
    const every = rule('[{ field: request.list, equals: x, every: true }]');
    assert.equal(matches(some, { list: ['x', 'y'] }), true);
    assert.equal(matches(every, { list: ['x', 'y'] }), false);
    assert.equal(matches(every, { list: ['x', 'x'] }), true);
    assert.equal(matches(every, { list: [] }), false, 'no value: nothing to pass');
    assert.equal(matches(rule('[{ field: request.list, equals: x, every: false }]'), { list: ['x', 'y'] }), true);
  });

  test('exists: an empty string does not count as present; null and missing neither', () => {
    const present = rule('[{ field: request.a, exists: true }]');
    const absent = rule('[{ field: request.a, exists: false }]');
    for (const [request, has] of [[{ a: 'v' }, true], [{ a: 0 }, true], [{ a: false }, true], [{ a: '' }, false], [{ a: null }, false], [{}, false]] as const) {
      assert.equal(matches(present, request), has, JSON.stringify(request));
      assert.equal(matches(absent, request), !has, JSON.stringify(request));
    }
    // exists with a value test: both must hold.
    const both = rule('[{ field: request.a, exists: true, equals: v }]');
    assert.equal(matches(both, { a: 'v' }), true);
    assert.equal(matches(both, { a: 'w' }), false);
  });

  test('a value test on a missing field does not match', () => {
    assert.equal(matches(rule('[{ field: request.a, notEquals: x }]'), {}), false);
    assert.equal(matches(rule('[{ field: request.a, notEquals: x }]'), { a: 'y' }), true);
  });

  test('equalsField and notEqualsField compare with another field; notEqualsField needs that field to be there', () => {
    const same = rule('[{ field: request.target, equalsField: request.owner }]');
    assert.equal(matches(same, { target: 'bob', owner: 'bob' }), true);
    assert.equal(matches(same, { target: 'bob', owner: 'eve' }), false);
    assert.equal(matches(same, { target: 'bob' }), false);
    assert.equal(matches(same, { target: 'bob', owner: ['eve', 'bob'] }), true, 'any value of the other field');
    const differ = rule('[{ field: request.target, notEqualsField: request.owner }]');
    assert.equal(matches(differ, { target: 'bob', owner: 'eve' }), true);
    assert.equal(matches(differ, { target: 'bob', owner: 'bob' }), false);
    assert.equal(matches(differ, { target: 'bob' }), false, 'nothing to differ from');
    const both = rule('[{ field: request.target, equalsField: request.owner, notEqualsField: request.other }]');
    assert.equal(matches(both, { target: 'bob', owner: 'bob', other: 'eve' }), true);
    assert.equal(matches(both, { target: 'bob', owner: 'bob', other: 'bob' }), false);
    assert.equal(matches(both, { target: 'bob', owner: 'eve', other: 'eve' }), false);
  });
});

describe('mistakes in conditions are reported, all of them, with where they are', () => {
  const one = (when: string, path: string, message: RegExp): void => {
    const got = problems(when);
    assert.ok(got.some((g) => g.startsWith(`${path}: `) && message.test(g)), `expected ${path}: ${message}; got:\n${got.join('\n')}`);
  };

  test('the shape of a condition', () => {
    one('[7]', 'rules[0].when[0]', /must be a mapping, got number/);
    one('[[1]]', 'rules[0].when[0]', /must be a mapping, got a list/);
    one('[null]', 'rules[0].when[0]', /must be a mapping, got null/);
    one('{ field: request.a }', 'rules[0].when', /must be a list of conditions, got object/);
    one('[{ any: { field: request.a, equals: 1 } }]', 'rules[0].when[0].any', /must be a list of conditions, got object/);
    one('[{ equals: 1 }]', 'rules[0].when[0]', /needs "field"/);
    one('[{ field: request.a }]', 'rules[0].when[0]', /condition on "request\.a" has no operator/);
    one('[{ field: request.a, equalz: 1 }]', 'rules[0].when[0].equalz', /unknown operator "equalz" \(known: exists, equalsField, notEqualsField, .*equals/);
  });

  test('combinators stand alone; some needs where and takes nothing else', () => {
    one('[{ any: [{ field: request.a, equals: 1 }], field: request.b }]', 'rules[0].when[0]', /"any" stands alone; found also field/);
    one('[{ all: [{ field: request.a, equals: 1 }], note: x }]', 'rules[0].when[0]', /"all" stands alone; found also note/);
    one('[{ not: { field: request.a, equals: 1 }, every: true }]', 'rules[0].when[0]', /"not" stands alone; found also every/);
    one('[{ some: request.items }]', 'rules[0].when[0]', /"some" needs "where"/);
    one('[{ some: request.items, where: [{ equals: 1 }], every: true }]', 'rules[0].when[0].every', /unknown key "every" in a "some" condition/);
    one('[{ some: request.items, where: { equals: 1 } }]', 'rules[0].when[0].where', /must be a list of conditions/);
    one('[{ not: { field: request.a } }]', 'rules[0].when[0].not', /has no operator/);
  });

  test('flags must be booleans; field comparisons need a known path', () => {
    one('[{ field: request.a, exists: yes please }]', 'rules[0].when[0].exists', /must be true or false/);
    one('[{ field: request.a, equals: 1, every: sometimes }]', 'rules[0].when[0].every', /must be true or false/);
    one('[{ field: request.a, equalsField: nowhere.b }]', 'rules[0].when[0].equalsField', /"nowhere\.b" must start with one of/);
    one('[{ field: [request.a, nowhere.b], equals: 1 }]', 'rules[0].when[0].field[1]', /"nowhere\.b" must start with one of/);
    // Every mistake, not only the first (a some without where is told both that it needs one and what it must be).
    const all = problems('[{ field: request.a, equalz: 1 }, 7, { some: request.x }]');
    assert.deepEqual(all.map((p) => p.split(':')[0]), ['rules[0].when[0].equalz', 'rules[0].when[1]', 'rules[0].when[2]', 'rules[0].when[2].where'], all.join('\n'));
  });
});
