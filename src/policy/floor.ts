// The floor: the least tier a successful write gets, whatever the rules say, from what the call is in AWS's own
// catalogue (iam-catalogue.ts): its IAM action and access level. Entries are tried in order; the first that matches
// is the record's floor. Computed once per (eventSource, eventName) by the engine, never per record.
import type { CompiledRule, FloorEntry, FloorTier } from './compiled';
import type { IamCatalogue, ResolvedAction } from './iam-catalogue';

export type { FloorEntry, FloorTier } from './compiled';

export interface FloorHit {
  entry: FloorEntry;
  action: ResolvedAction;
  reason: string;
}

/** Scores when an entry gives none: in the middle of the tier's band of the default thresholds. */
export const FLOOR_SCORES: Record<FloorTier, number> = { ignore: 0, notify: 30, confirm: 60, page: 85 };

export function floorRule(id: string, title: string, tier: FloorTier, score: number): CompiledRule {
  return { id, title, rows: [], sources: null, exact: new Set(), globs: [], actors: null, when: () => true, score, tier, reason: null };
}

/** The first entry that matches the action, or null. */
export function floorFor(entries: readonly FloorEntry[], action: ResolvedAction): FloorEntry | null {
  for (const e of entries) {
    if (e.levels && !e.levels.has(action.level)) continue;
    if (!e.actions(action.key)) continue;
    if (e.except?.(action.key)) continue;
    return e;
  }
  return null;
}

/** The floor of one (eventSource, eventName): the entry and the reason people read. */
export function floorHit(entries: readonly FloorEntry[], catalogue: IamCatalogue, eventSource: string, eventName: string): FloorHit | null {
  if (entries.length === 0) return null;
  const action = catalogue.resolve(eventSource, eventName);
  const entry = floorFor(entries, action);
  if (!entry) return null;
  const what = action.known
    ? `${action.key} (${action.level})`
    : `${eventName} from ${eventSource} (${action.key}?), which AWS's action catalogue ${catalogue.version} does not list`;
  return { entry, action, reason: `floor ${entry.tier}: ${entry.title}: ${what}` };
}
