// The public detection files in ../shared/data/detections, read for what the corpus must agree with: every file has an
// entry, and each entry's rule id, title, level and log source are the file's own. Nothing from the files is copied
// into the repository; they are read in place.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { LogSource } from './corpus';

export const DETECTIONS_DIR = path.resolve(__dirname, '../../../shared/data/detections');

export interface SourceDetection {
  /** sigma/<file name without .yml> or splunk/<…>. */
  detection: string;
  file: string;
  ruleId: string;
  title: string;
  level: string | number;
  logSource: LogSource;
}

/** Where a Splunk search reads its events, from the macro or data model it starts with. */
function splunkLogSource(search: string): LogSource {
  if (search.includes('`amazon_security_lake`')) return 'cloudtrail-ocsf';
  if (search.includes('`aws_cloudwatchlogs_eks`')) return 'cloudtrail-cloudwatch';
  if (search.includes('`aws_securityhub_finding`')) return 'securityhub';
  if (search.includes('`cloudwatchlogs_vpcflow`')) return 'vpc-flow';
  if (search.includes('`kube_audit`')) return 'k8s-audit';
  if (/datamodel=Risk\b/.test(search)) return 'risk-index';
  // `cloudtrail` macro, or the Authentication data model (fed by CloudTrail's ConsoleLogin / AssumeRole records).
  if (search.includes('`cloudtrail`') || /datamodel=Authentication\b/.test(search)) return 'cloudtrail';
  throw new Error(`cannot tell the log source of the search: ${search.slice(0, 80)}…`);
}

function rec(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Every detection file (the licence and SOURCES files are not detections). */
export function readSourceDetections(dir = DETECTIONS_DIR): { detections: SourceDetection[]; otherFiles: string[] } {
  const detections: SourceDetection[] = [];
  const otherFiles: string[] = [];
  for (const top of fs.readdirSync(dir).sort()) {
    const sub = path.join(dir, top);
    if (!fs.statSync(sub).isDirectory()) {
      otherFiles.push(top);
      continue;
    }
    const source = top.startsWith('sigma') ? 'sigma' : top.startsWith('splunk') ? 'splunk' : null;
    if (!source) throw new Error(`unknown detections folder ${top}`);
    for (const name of fs.readdirSync(sub).sort()) {
      if (!name.endsWith('.yml')) {
        otherFiles.push(`${top}/${name}`);
        continue;
      }
      const doc = rec(parse(fs.readFileSync(path.join(sub, name), 'utf8')));
      const base = name.slice(0, -'.yml'.length);
      if (source === 'sigma') {
        const ls = rec(doc.logsource);
        if (ls.product !== 'aws' || ls.service !== 'cloudtrail') throw new Error(`${top}/${name}: not an aws/cloudtrail rule`);
        detections.push({ detection: `sigma/${base}`, file: `${top}/${name}`, ruleId: String(doc.id), title: String(doc.title), level: String(doc.level), logSource: 'cloudtrail' });
      } else {
        const tags = rec(doc.tags);
        detections.push({
          detection: `splunk/${base}`,
          file: `${top}/${name}`,
          ruleId: String(doc.id),
          title: String(doc.name),
          level: Number(tags.risk_score),
          logSource: splunkLogSource(String(doc.search ?? '')),
        });
      }
    }
  }
  return { detections, otherFiles };
}
