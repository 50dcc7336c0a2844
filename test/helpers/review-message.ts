// The review message's test inputs, shared by the rendering tests (test/slack/blocks.test.ts) and the content tests
// (test/slack/blocks-content.test.ts): a change carrying sensitive request values, a verdict, one input per state.
import type { Change, MessageState, PostMessageInput, Verdict } from '../../src/core/types';

export const USER_DATA_SECRET = 'c3VwZXItc2VjcmV0LXVzZXJkYXRh';
export const PASSWORD_SECRET = 'hunter2-Secret!';
export const REQUEST_ONLY_VALUE = 'request-only-value-7f3a';

export function change(overrides: Partial<Change> = {}): Change {
  return {
    eventId: 'c5a1e7f2-1111-4a2b-9c3d-0123456789ab',
    eventTime: '2024-05-01T10:15:00Z',
    account: '123456789012',
    region: 'eu-west-1',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    actor: {
      type: 'AssumedRole',
      arn: 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com',
      name: 'alice@example.com',
      email: 'alice@example.com',
    },
    request: {
      groupId: 'sg-0abc',
      description: REQUEST_ONLY_VALUE,
      userData: USER_DATA_SECRET,
      nested: { masterUserPassword: PASSWORD_SECRET },
    },
    response: null,
    summary: 'sg-0abc opened to 0.0.0.0/0 on tcp/22',
    ...overrides,
  };
}

export const verdict: Verdict = {
  tier: 'confirm',
  score: 80,
  rules: ['sg-open-world'],
  reasons: ['SSH (tcp/22) opened to the whole internet', 'Security group is attached to a production instance'],
  deadlineSeconds: 900,
  revertPlan: null,
};

export function input(state: MessageState, overrides: Partial<PostMessageInput> = {}): PostMessageInput {
  return {
    reviewId: 'vouch-123456789012-c5a1e7f2-1111-4a2b-9c3d-0123456789ab',
    slackUserId: 'U0ALICE',
    change: change(),
    verdict,
    reviewUrl: 'http://localhost:8233/namespaces/default/workflows/vouch-123456789012-c5a1e7f2?x=1&y=2',
    state,
    ...overrides,
  };
}

export const ALL_STATES: MessageState[] = [
  { kind: 'ask', deadline: '2024-05-01T10:30:00Z' },
  { kind: 'duo-pending', pushes: 1 },
  { kind: 'duo-failed', reason: 'The push timed out', pushes: 1, maxPushes: 3 },
  { kind: 'duo-failed', reason: 'The push timed out', pushes: 3, maxPushes: 3 },
  { kind: 'final', outcome: 'CONFIRMED', reason: 'Alice confirmed and Duo allowed' },
  { kind: 'info', text: 'Your change was reverted by vouch.' },
];

export type Obj = Record<string, unknown>;

export function blocksOf(rendered: { blocks: unknown[] }): Obj[] {
  return rendered.blocks as Obj[];
}

export function buttons(rendered: { blocks: unknown[] }): Obj[] {
  return blocksOf(rendered)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements as Obj[]);
}

/** Every text string in the blocks (section/header text, context elements, button labels). */
export function allTexts(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => allTexts(v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Obj)) {
      if (k === 'text' && typeof v === 'string') out.push(v);
      else allTexts(v, out);
    }
  }
  return out;
}

