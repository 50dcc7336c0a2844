// What changed between the trusted baseline and the live configuration (`vouch baseline diff`).
import { canonicalJson, resourceKey, type BaselineDoc, type ResourceConfig } from './types';
import type { CaptureResult } from './capture';

export interface DiffEntry {
  resource: string;
  change: 'added' | 'removed' | 'changed';
  /** For `changed`: the settings that differ (`InlinePolicies.deploy`, `S3BucketName`, `Policy` …). */
  fields?: string[];
  trustedAt?: string;
}

function fieldsOf(config: ResourceConfig | null): Record<string, unknown> {
  if (!config) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'InlinePolicies' && v && typeof v === 'object') {
      for (const [name, doc] of Object.entries(v as Record<string, unknown>)) out[`InlinePolicies.${name}`] = doc;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Differences between the latest trusted version of each resource and the live capture. */
export function diffBaseline(doc: BaselineDoc | null, live: CaptureResult): DiffEntry[] {
  const out: DiffEntry[] = [];
  const seen = new Set<string>();
  for (const r of live.resources) {
    const key = resourceKey(r.kind, r.id);
    seen.add(key);
    const versions = doc?.resources[key]?.versions ?? [];
    const latest = versions[versions.length - 1];
    if (!latest || latest.config === null) {
      if (r.config !== null) out.push({ resource: key, change: 'added' });
      continue;
    }
    if (r.config === null) {
      out.push({ resource: key, change: 'removed', trustedAt: latest.capturedAt });
      continue;
    }
    const a = fieldsOf(latest.config);
    const b = fieldsOf(r.config);
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .filter((k) => canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null))
      .sort();
    if (fields.length) out.push({ resource: key, change: 'changed', fields, trustedAt: latest.capturedAt });
  }
  for (const [key, res] of Object.entries(doc?.resources ?? {})) {
    if (seen.has(key) || !live.kinds.includes(res.kind)) continue;
    const latest = res.versions[res.versions.length - 1];
    if (latest && latest.config !== null) out.push({ resource: key, change: 'removed', trustedAt: latest.capturedAt });
  }
  return out.sort((x, y) => x.resource.localeCompare(y.resource));
}
