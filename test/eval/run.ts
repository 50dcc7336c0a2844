// `npm run eval`: the detection corpus (test/corpus) and the real CloudTrail data in ../shared through the production
// judge (policyJudge over the shipped default policy, each record normalised as intake does), printed as the table
// kept in README "Detection: recall and false alarms", then every miss with its detection id. Exits 1 when a target
// is missed, 2 when the corpus or ../shared cannot be read.
import fs from 'node:fs';
import { policyJudge } from '../../src/intake/judges';
import { CLOUDTRAIL_SOURCES, loadCorpus, severityOfLevel, severityOfStratus, type Corpus } from '../corpus/corpus';
import { INVICTUS_DIR, STRATUS_DIR, invictusNoise, judgeCorpus, recall, stratusKeyEvents, type RecallFigure } from '../corpus/evaluate';
import { DETECTIONS_DIR, readSourceDetections } from '../corpus/sources';

interface Row {
  figure: string;
  target: string;
  result: string;
  ok: boolean | null; // null: reported, no target
}

const pct = (n: number, d: number): string => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);

function recallRow(f: RecallFigure, min: number | null): Row {
  const share = f.detections === 0 ? 1 : f.caught / f.detections;
  return {
    figure: `${f.label} at ≥ ${f.target}`,
    target: min === null ? '(reported)' : `≥ ${min}%`,
    result: `${f.caught}/${f.detections} detections (${pct(f.caught, f.detections)}); ${f.recordsCaught}/${f.records} records`,
    ok: min === null ? null : share * 100 >= min,
  };
}

/** Coverage of ../shared/data/detections and the Stratus detonations; problems are returned, not thrown. */
function coverage(corpus: Corpus): { rows: Row[]; problems: string[] } {
  const problems: string[] = [];
  const { detections, otherFiles } = readSourceDetections();
  const byId = new Map(corpus.entries.map((e) => [e.detection, e]));
  for (const d of detections) {
    const e = byId.get(d.detection);
    if (!e) {
      problems.push(`${d.detection}: no corpus entry (file ${d.file})`);
      continue;
    }
    if (e.ruleId !== d.ruleId) problems.push(`${d.detection}: ruleId ${e.ruleId} is not the file's ${d.ruleId}`);
    if (e.title !== d.title) problems.push(`${d.detection}: title "${e.title}" is not the file's "${d.title}"`);
    if (String(e.level) !== String(d.level)) problems.push(`${d.detection}: level ${String(e.level)} is not the file's ${String(d.level)}`);
    if (e.logSource !== d.logSource) problems.push(`${d.detection}: log source ${e.logSource}, the file reads ${d.logSource}`);
    const sev = severityOfLevel(d.detection.startsWith('sigma/') ? 'sigma' : 'splunk', d.level);
    if (e.severity !== sev) problems.push(`${d.detection}: severity ${e.severity}, the level ${String(d.level)} maps to ${sev}`);
  }
  const known = new Set(detections.map((d) => d.detection));
  for (const e of corpus.entries) {
    if ((e.detection.startsWith('sigma/') || e.detection.startsWith('splunk/')) && !known.has(e.detection)) problems.push(`${e.detection}: no such file in ${DETECTIONS_DIR}`);
  }
  const techniques = fs.existsSync(STRATUS_DIR) ? fs.readdirSync(STRATUS_DIR).filter((f) => f.endsWith('.json')).map((f) => `stratus/${f.slice(0, -5)}`) : [];
  for (const t of techniques) if (!byId.has(t)) problems.push(`${t}: no corpus entry for the detonation`);
  for (const e of corpus.entries.filter((x) => x.keyEvent)) {
    const sev = severityOfStratus(e.keyEvent?.tier ?? 'ignore');
    if (!techniques.includes(e.detection)) problems.push(`${e.detection}: no such detonation in ${STRATUS_DIR}`);
    if (sev && !e.excluded && e.severity !== sev) problems.push(`${e.detection}: severity ${e.severity}, the key event's tier maps to ${sev}`);
  }
  const ct = detections.filter((d) => CLOUDTRAIL_SOURCES.has(d.logSource));
  const covered = corpus.entries.filter((e) => !e.excluded && known.has(e.detection));
  return {
    problems,
    rows: [
      {
        figure: 'Public detections with a corpus entry',
        target: 'all',
        result: `${detections.length - problems.filter((p) => p.includes('no corpus entry (file')).length}/${detections.length} files (${otherFiles.length} other files: ${otherFiles.join(', ')}); ${ct.length} read CloudTrail`,
        ok: problems.length === 0,
      },
      { figure: '… of which covered by records / left out with a reason', target: '(reported)', result: `${covered.length} / ${detections.length - covered.length}`, ok: null },
      { figure: 'Stratus detonations with a corpus entry', target: 'all', result: `${techniques.filter((t) => byId.has(t)).length}/${techniques.length}`, ok: techniques.every((t) => byId.has(t)) },
    ],
  };
}

function main(): number {
  const shared = fs.existsSync(DETECTIONS_DIR) && fs.existsSync(INVICTUS_DIR) && fs.existsSync(STRATUS_DIR);
  if (!shared && process.env.CI === 'true') {
    process.stderr.write(`../shared is missing (${DETECTIONS_DIR}): the evaluation needs it under CI\n`);
    return 2;
  }
  const corpus = loadCorpus();
  const judge = policyJudge();
  const judged = judgeCorpus(corpus, judge);
  const rows: Row[] = [];
  const misses: string[] = [];

  const pub = ['sigma', 'splunk'];
  const figures: [RecallFigure, number | null][] = [
    [recall(corpus.entries, judged, 'Public detections (Sigma, Splunk), high/critical', pub, ['high', 'critical']), 95],
    [recall(corpus.entries, judged, 'Public detections (Sigma, Splunk), medium', pub, ['medium']), 90],
    [recall(corpus.entries, judged, 'Stratus techniques, high/critical', ['stratus'], ['high', 'critical']), 95],
    [recall(corpus.entries, judged, 'Stratus techniques, medium', ['stratus'], ['medium']), 90],
    [recall(corpus.entries, judged, 'Techniques beyond the public detections, high/critical', ['vouch'], ['high', 'critical']), 95],
    [recall(corpus.entries, judged, 'Techniques beyond the public detections, medium', ['vouch'], ['medium']), 90],
  ];
  for (const [f, min] of figures) {
    rows.push(recallRow(f, min));
    for (const m of f.misses) misses.push(`recall  ${m.detection} (${f.label}, needs ${f.target}): ${m.records.join('; ')}`);
  }
  const low = corpus.entries.filter((e) => !e.excluded && e.severity === 'low' && pub.includes(e.detection.split('/')[0] as string));
  const lowFlagged = low.filter((e) => judged.filter((j) => j.cr.entry === e && j.cr.role === 'positive').every((j) => j.tier !== 'ignore'));
  rows.push({ figure: 'Public detections, low, at ≥ notify', target: '(reported)', result: `${lowFlagged.length}/${low.length} (${pct(lowFlagged.length, low.length)})`, ok: null });

  const evasions = judged.filter((j) => j.cr.entry.kind === 'evasion' && j.cr.role === 'positive');
  rows.push({ figure: 'Evasions caught', target: 'all', result: `${evasions.filter((j) => j.ok).length}/${evasions.length}`, ok: evasions.every((j) => j.ok) });

  const positives = judged.filter((j) => j.cr.role === 'positive');
  const nears = judged.filter((j) => j.cr.role === 'nearMiss');
  rows.push({ figure: 'Corpus positives at their expected tier', target: 'all', result: `${positives.filter((j) => j.ok).length}/${positives.length}`, ok: positives.every((j) => j.ok) });
  rows.push({ figure: 'Corpus near-misses at or below their limit', target: 'all', result: `${nears.filter((j) => j.ok).length}/${nears.length}`, ok: nears.every((j) => j.ok) });
  for (const j of judged.filter((x) => !x.ok)) {
    const want = j.cr.role === 'positive' ? `≥ ${j.cr.tier}` : `≤ ${j.cr.tier}`;
    misses.push(`${j.cr.role === 'positive' ? 'missed ' : 'noisy  '} ${j.cr.entry.detection} "${j.cr.name}": ${j.tier}, expected ${want}${j.rules.length ? ` (${j.rules.join(', ')})` : ''}`);
  }

  let problems: string[] = [];
  if (shared) {
    const cov = coverage(corpus);
    rows.unshift(...cov.rows);
    problems = cov.problems;
    const n = invictusNoise(judge);
    rows.push({ figure: 'Invictus hour: successful benign records at ≥ confirm', target: '≤ 3%', result: `${n.benignAtConfirm}/${n.benign} (${pct(n.benignAtConfirm, n.benign)}; ${pct(n.benignAtConfirm, n.benignWrites)} of the ${n.benignWrites} writes)`, ok: n.benignAtConfirm <= 0.03 * n.benign });
    rows.push({ figure: 'Invictus hour: successful benign records at ≥ notify', target: '≤ 10%', result: `${n.benignAtNotify}/${n.benign} (${pct(n.benignAtNotify, n.benign)}; ${pct(n.benignAtNotify, n.benignWrites)} of the writes)`, ok: n.benignAtNotify <= 0.1 * n.benign });
    rows.push({ figure: 'Invictus hour: failed calls (errorCode) at ≥ confirm', target: '≤ 5%', result: `${n.failedAtConfirm}/${n.failed} (${pct(n.failedAtConfirm, n.failed)})`, ok: n.failedAtConfirm <= 0.05 * n.failed });
    rows.push({ figure: 'Invictus hour: successful attack records flagged', target: '(reported)', result: `${n.attackFlagged}/${n.attack}`, ok: null });
    const keys = stratusKeyEvents(corpus, judge);
    rows.push({ figure: 'Stratus key events at their catalogue tier', target: 'all', result: `${keys.filter((k) => k.ok).length}/${keys.length}`, ok: keys.every((k) => k.ok) });
    for (const k of keys.filter((x) => !x.ok)) misses.push(`stratus stratus/${k.technique} ${k.eventName}: ${k.got.join(', ') || 'no such record'}, expected ${k.expected}`);
    if (n.loud.length) misses.push(`(benign records at ≥ confirm: ${[...new Set(n.loud)].join('; ')})`);
  } else {
    process.stderr.write(`WARNING: ${DETECTIONS_DIR} or the CloudTrail data is missing: coverage, false alarms and Stratus key events not measured\n`);
  }

  process.stdout.write('| Figure | Target | Result | |\n|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.figure} | ${r.target} | ${r.result} | ${r.ok === null ? '' : r.ok ? 'ok' : '**missed**'} |\n`);
  if (problems.length) process.stdout.write(`\nCoverage problems:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  if (misses.length) process.stdout.write(`\nMisses:\n${misses.map((m) => `  ${m}`).join('\n')}\n`);
  const failed = rows.filter((r) => r.ok === false);
  process.stdout.write(failed.length ? `\n${failed.length} target(s) missed.\n` : '\nEvery target met.\n');
  return failed.length ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 2;
}
