// The trusted baseline: capture into a store, accept a confirmed change, and load the lookup the planner needs.
import type { AwsClientFor } from '../clients';
import { planRevert } from '../plan';
import { baselineTarget, type PlanContext, type PlanDecision } from '../plan-common';
import type { Change } from '../../core/types';
import { captureResource, captureScope, GLOBAL_KINDS, mergeCapture, recordVersion, REGIONAL_KINDS, type MergeSummary } from './capture';
import { loadDocs, type BaselineStore } from './store';
import { GLOBAL_SCOPE, lookupFromDocs, RESOURCE_KINDS, type BaselineLookup, type ResourceKind } from './types';

export * from './types';
export { createBaselineStore, FolderStore, S3Store, BaselineStoreError, type BaselineStore } from './store';
export { diffBaseline, type DiffEntry } from './diff';
export { captureScope, captureResource, mergeCapture, recordVersion, type CaptureResult, type MergeSummary } from './capture';

export interface ScopeSummary extends MergeSummary {
  account: string;
  scope: string;
  resources: number;
}

export interface CaptureIntoStoreOptions {
  clientFor: AwsClientFor;
  store: BaselineStore;
  account: string;
  regions: string[];
  /** Default: every kind. */
  kinds?: ResourceKind[];
  /** Role session for the reads. Default `vouch-baseline-<time>`. */
  sessionName?: string;
  now?: () => Date;
}

/** Captures the watched resources of an account (its regions and the global scope) into the store. */
export async function captureIntoStore(o: CaptureIntoStoreOptions): Promise<ScopeSummary[]> {
  const kinds = o.kinds ?? [...RESOURCE_KINDS];
  const sessionName = o.sessionName ?? `vouch-baseline-${Date.now()}`;
  const clients = { clientFor: o.clientFor, account: o.account, sessionName };
  const scopes = [
    ...[...new Set(o.regions)].map((r) => ({ scope: r, kinds: kinds.filter((k) => REGIONAL_KINDS.includes(k)) })),
    { scope: GLOBAL_SCOPE, kinds: kinds.filter((k) => GLOBAL_KINDS.includes(k)) },
  ].filter((s) => s.kinds.length > 0);
  const out: ScopeSummary[] = [];
  for (const s of scopes) {
    // Read first (slow, AWS), then fold into the stored document under the store's write guard (fast).
    const capture = await captureScope(clients, s.scope, s.kinds);
    const at = (o.now ?? (() => new Date()))().toISOString();
    let summary: MergeSummary = { added: [], changed: [], removed: [], unchanged: 0 };
    await o.store.update(o.account, s.scope, (doc) => {
      summary = mergeCapture(doc, capture, at);
    });
    out.push({ account: o.account, scope: s.scope, resources: capture.resources.length, ...summary });
  }
  return out;
}

export interface AcceptResult {
  updated: boolean;
  message: string;
}

/** A confirmed change becomes the trusted state of its resource: re-read it now and record it as `accepted`. */
export async function acceptIntoStore(o: {
  clientFor: AwsClientFor;
  store: BaselineStore;
  change: Change;
  now?: () => Date;
}): Promise<AcceptResult> {
  const { change } = o;
  if (change.errorCode) return { updated: false, message: `the call failed (${change.errorCode}): nothing changed, baseline kept` };
  const target = baselineTarget(change);
  if (!target) return { updated: false, message: `${change.eventName} changes nothing vouch keeps a baseline of: baseline unchanged` };
  const clients = { clientFor: o.clientFor, account: change.account, sessionName: `vouch-baseline-${change.eventId}`.slice(0, 64) };
  const config = await captureResource(clients, change.region, target.kind, target.id);
  const at = (o.now ?? (() => new Date()))().toISOString();
  await o.store.update(change.account, target.scope, (doc) => {
    recordVersion(doc, { kind: target.kind, id: target.id, config }, at, 'accepted', change.eventId);
  });
  return {
    updated: true,
    message:
      config === null
        ? `${target.what} no longer exists: recorded as absent in the trusted baseline (${change.account}/${target.scope})`
        : `trusted baseline of ${target.what} moved to the confirmed state of ${change.eventId} (${change.account}/${target.scope})`,
  };
}

/** Loads what the planner needs for changes in `account` (its regions and the global scope). */
export async function loadBaselineLookup(store: BaselineStore, account: string, regions: string[]): Promise<BaselineLookup> {
  return lookupFromDocs(await loadDocs(store, account, regions));
}

/**
 * For intake paths that plan many changes: loads each account's baseline documents once per `ttlMs` (default 60 s)
 * and plans with them. A document updated within the TTL is seen at the next load; versions are chosen by event time.
 */
export function createBaselinePlanner(store: BaselineStore, opts: { ttlMs?: number; revertRoleName?: string } = {}) {
  const ttl = opts.ttlMs ?? 60_000;
  const cache = new Map<string, { at: number; lookup: Promise<BaselineLookup> }>();
  const lookupFor = (account: string, region: string): Promise<BaselineLookup> => {
    const key = `${account}/${region}`;
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < ttl) return hit.lookup;
    const lookup = loadBaselineLookup(store, account, [region]);
    cache.set(key, { at: Date.now(), lookup });
    lookup.catch(() => cache.delete(key));
    return lookup;
  };
  return {
    async plan(change: Change): Promise<PlanDecision> {
      const ctx: PlanContext = opts.revertRoleName ? { revertRoleName: opts.revertRoleName } : {};
      if (!baselineTarget(change)) return planRevert(change, ctx);
      return planRevert(change, { ...ctx, baseline: await lookupFor(change.account, change.region) });
    },
  };
}
