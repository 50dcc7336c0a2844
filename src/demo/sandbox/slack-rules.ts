// What Slack enforces on a bot token besides the token itself, for the Slack stand-in (slack.ts):
//
// Scopes. Each Web API method names the scopes that allow it (https://docs.slack.dev/reference/methods, "Required
// scopes"; any one of them is enough). A call without one answers HTTP 200 `{ok:false, error:'missing_scope',
// needed, provided}` and the `x-oauth-scopes` / `x-accepted-oauth-scopes` headers, as Slack does. The bot token's
// scopes default to the app manifest's (src/deploy/slack-app-manifest.yaml), so a method vouch calls without
// granting its scope there fails in the tests as it would in a real workspace.
//
// Rate limits. Each method has a tier (https://docs.slack.dev/apis/web-api/rate-limits): Tier 1 = 1 per minute,
// Tier 2 = 20, Tier 3 = 50, Tier 4 = 100 ("+": short bursts are tolerated), and chat.postMessage is special: about one
// message per second per channel, with short bursts. Modelled as token buckets (per method and workspace; per channel
// for chat.postMessage) holding one minute's allowance (a few messages for chat.postMessage) and refilling evenly.
// An empty bucket answers HTTP 429 `{ok:false, error:'ratelimited'}` with `Retry-After` in whole seconds.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** Required scopes per method; any one is enough. auth.test needs none. */
const METHOD_SCOPES: Readonly<Record<string, readonly string[]>> = {
  'auth.test': [],
  'users.lookupByEmail': ['users:read.email'],
  'conversations.open': ['im:write', 'mpim:write', 'groups:write', 'channels:manage'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history', 'mpim:history'],
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
};

/**
 * The scope this particular call needs. conversations.open needs the scope of the conversation it opens (one user: a
 * DM, im:write; several: mpim:write); the rest, any of the method's scopes.
 */
export function scopesNeeded(method: string, params: Record<string, string>): readonly string[] {
  if (method === 'conversations.open' && params.users !== undefined && !params.channel) {
    return params.users.split(',').filter((u) => u.trim()).length > 1 ? ['mpim:write'] : ['im:write'];
  }
  return METHOD_SCOPES[method] ?? [];
}

/** The scopes check: undefined when allowed, else Slack's missing_scope answer. */
export function missingScope(method: string, params: Record<string, string>, granted: readonly string[]): { error: 'missing_scope'; needed: string; provided: string } | undefined {
  const needed = scopesNeeded(method, params);
  if (needed.length === 0 || needed.some((s) => granted.includes(s))) return undefined;
  return { error: 'missing_scope', needed: needed.join(','), provided: granted.join(',') };
}

/** The bot scopes of vouch's app manifest. */
export function manifestBotScopes(file = path.resolve(__dirname, '../../deploy/slack-app-manifest.yaml')): string[] {
  const manifest = YAML.parse(fs.readFileSync(file, 'utf8')) as { oauth_config?: { scopes?: { bot?: unknown } } };
  const bot = manifest.oauth_config?.scopes?.bot;
  if (!Array.isArray(bot) || !bot.every((s) => typeof s === 'string')) throw new Error(`${file}: oauth_config.scopes.bot is not a list of scopes`);
  return bot as string[];
}

export type SlackTier = 1 | 2 | 3 | 4 | 'post';

/** Tier per method, from each method's reference page. */
export const METHOD_TIERS: Readonly<Record<string, SlackTier>> = {
  'auth.test': 4, // "special": thousands per hour
  'users.lookupByEmail': 3,
  'conversations.open': 3,
  'conversations.history': 3,
  'chat.postMessage': 'post',
  'chat.update': 3,
  'chat.postEphemeral': 4,
};

const PER_MINUTE: Record<Exclude<SlackTier, 'post'>, number> = { 1: 1, 2: 20, 3: 50, 4: 100 };
/** chat.postMessage: one per second per channel, a burst of this many. */
const POST_BURST = 5;

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-method (and for chat.postMessage per-channel) token buckets on an injectable clock. */
export class SlackRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Full buckets again (a fresh workspace). */
  reset(): void {
    this.buckets.clear();
  }

  /** Spends one call; `retryAfter` (whole seconds) when the bucket is empty. */
  take(method: string, channel?: string): { ok: true } | { ok: false; retryAfter: number } {
    const tier = METHOD_TIERS[method];
    if (tier === undefined) return { ok: true };
    const [capacity, perSecond] = tier === 'post' ? [POST_BURST, 1] : [PER_MINUTE[tier], PER_MINUTE[tier] / 60];
    const key = tier === 'post' ? `${method}/${channel ?? ''}` : method;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / perSecond)) };
  }
}
