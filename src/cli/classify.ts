// `vouch classify [--policy FILE] [PATH ...|-]` and `vouch policy check FILE`.
//
// classify reads CloudTrail data — `{"Records":[…]}` files as delivered to S3 (also gzipped), JSON arrays, JSON lines,
// single records, EventBridge envelopes — from files, folders (recursively) or standard input, and writes one JSON
// line per input record, in input order. A record that cannot be read gives a line with "error" (file, index, field)
// and the rest go on; the exit status is 1 if any record failed. Every record that can be judged is: one without an
// eventID gets an id derived from its content (a hash: the same record always gets the same id), one with an unusual
// account id is judged as it is, and the line says so in `warnings` (SIEM exports, hand-written test events). Intake
// keeps its stricter rule: a review needs a real account and eventID, so it dead-letters such records.
import { createHash } from 'node:crypto';
import { Command } from 'commander';
import { z } from 'zod';
import { awsSchema, loadConfig } from './config';
import { listDir, readText, type InputFile } from '../intake/files';
import * as cloudtrail from '../intake/normalise';
import * as records from '../intake/record-check';
import { RecordError, type RecordHeader } from '../intake/record-check';
import { classifier, loadPolicy, PolicyError, type Assessment, type Policy, type QuickIgnore } from '../policy';
import type { Actor, Change } from '../core/types';
import { canonicalJson, isRecord } from '../core/records';
import { act } from './program';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

// Read once: a named import compiles to a getter call per use, and these run for every record.
const { actorOf, normaliseHeader, parseRecords } = cloudtrail;
const { readHeader } = records;

const DEFAULT_IO: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };

export interface ClassifiedLine {
  eventID: string;
  eventName: string;
  account: string;
  actor: string;
  tier: Assessment['tier'];
  score: number;
  rules: string[];
  reasons: string[];
  revert: { service: string; operation: string; input: Record<string, unknown>; then?: unknown[] } | null;
  revertReason?: string;
  /** What vouch had to assume to judge the record (a derived eventID, an unusual account id). */
  warnings?: string[];
}

export interface ErrorLine {
  source: string;
  index: number;
  field: string;
  error: string;
  eventID?: string;
}

function lineFor(change: Change, a: Assessment): ClassifiedLine {
  return lineOf(change.eventId, change.eventName, change.account, change.actor, a);
}

function lineOf(eventID: string, eventName: string, account: string, actor: Actor, a: Assessment): ClassifiedLine {
  const plan = a.revertPlan;
  return {
    eventID,
    eventName,
    account,
    actor: actor.arn ?? actor.name,
    tier: a.tier,
    score: a.score,
    rules: a.rules,
    reasons: a.reasons,
    revert: plan ? { service: plan.service, operation: plan.operation, input: plan.input, ...(plan.then?.length ? { then: plan.then } : {}) } : null,
    ...(plan ? {} : { revertReason: a.revertReason }),
  };
}

/** A stable id for a record without one: a hash of its content, keys in a fixed order. */
export function derivedEventId(raw: Record<string, unknown>): string {
  return `derived-${createHash('sha256').update(canonicalJson(raw)).digest('hex').slice(0, 32)}`;
}

const missing = (v: unknown): boolean => v === undefined || v === null || v === '';

/**
 * The header of a record that the strict check refused only for a missing eventID or an unusual account id, with
 * what was assumed; null when something else is wrong (the strict error stands).
 */
function lenientHeader(raw: unknown, source: string, index: number): { h: RecordHeader; warnings: string[] } | null {
  if (!isRecord(raw)) return null;
  const patched: Record<string, unknown> = { ...raw };
  const warnings: string[] = [];
  let account: string | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = readHeader(patched, source, index);
      return { h: account === undefined ? h : { ...h, account }, warnings };
    } catch (err) {
      if (!(err instanceof RecordError)) return null;
      if (err.field === 'eventID' && missing(raw.eventID) && patched.eventID === raw.eventID) {
        patched.eventID = derivedEventId(raw);
        warnings.push(`no eventID: judged as ${String(patched.eventID)}, derived from the record's content (the same record always gets the same id)`);
      } else if (err.field === 'recipientAccountId' && account === undefined) {
        const given = missing(raw.recipientAccountId) ? (isRecord(raw.userIdentity) ? raw.userIdentity.accountId : undefined) : raw.recipientAccountId;
        if (typeof given === 'number' && Number.isInteger(given) && given >= 0 && given < 1e12) {
          account = String(given).padStart(12, '0');
          warnings.push(`account id ${given} is a number: read as "${account}"`);
        } else if (missing(given)) {
          account = 'unknown';
          warnings.push('no account id (recipientAccountId or userIdentity.accountId): judged as account "unknown"; intake would keep this record as a dead letter');
        } else {
          account = String(given).slice(0, 64);
          warnings.push(`account id "${account}" is not a 12-digit AWS account id: judged as it is; intake would keep this record as a dead letter`);
        }
        patched.recipientAccountId = '000000000000'; // stands in for the check only; the line says `account`
      } else return null;
    }
  }
  return null;
}

function errorLine(err: unknown, source: string, index: number, raw?: unknown): ErrorLine {
  const eventID =
    raw !== null && typeof raw === 'object' && typeof (raw as { eventID?: unknown }).eventID === 'string'
      ? ((raw as { eventID: string }).eventID.slice(0, 100))
      : undefined;
  if (err instanceof RecordError) {
    return { source: err.source, index: err.index, field: err.field, error: err.message, ...(eventID ? { eventID } : {}) };
  }
  return { source, index, field: '(record)', error: `${source}#${index}: ${(err as Error).message}`, ...(eventID ? { eventID } : {}) };
}

/** The documents of a text as parseRecords splits them, envelopes left as they are (read again only for envelopes). */
function rawDocuments(text: string): unknown[] {
  const flat = (doc: unknown): unknown[] => (Array.isArray(doc) ? doc : isRecord(doc) && Array.isArray(doc.Records) ? doc.Records : [doc]);
  try {
    return flat(JSON.parse(text));
  } catch {
    // JSON lines, one document per line, as parseRecords reads them.
  }
  const out: unknown[] = [];
  for (const line of text.trim().split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      out.push(...flat(JSON.parse(line)));
    } catch {
      out.push(undefined);
    }
  }
  return out;
}

/** The record inside an envelope, its account filled from the envelope's when it has none; null when there is none. */
function envelopeDetail(doc: unknown): Record<string, unknown> | null {
  if (!isRecord(doc) || !isRecord(doc.detail)) return null;
  const rec: Record<string, unknown> = { ...doc.detail };
  if (missing(rec.recipientAccountId) && typeof doc.account === 'string') rec.recipientAccountId = doc.account;
  return rec;
}

function withWarnings(line: ClassifiedLine, warnings: string[] | undefined): ClassifiedLine {
  return warnings?.length ? { ...line, warnings } : line;
}

export interface Tally {
  records: number;
  failed: number;
  tiers: Record<Assessment['tier'], number>;
}

export function newTally(): Tally {
  return { records: 0, failed: 0, tiers: { ignore: 0, notify: 0, confirm: 0, page: 0, revert: 0 } };
}

/**
 * The classify engine on one input's text: parse, normalise and assess every record, in order. `emit` receives each
 * line (omit it to count only, as the benchmark does).
 */
export function classifyText(
  text: string,
  source: string,
  policy: Policy,
  tally: Tally,
  emit?: (line: ClassifiedLine | ErrorLine) => void,
): void {
  let records: unknown[];
  try {
    records = parseRecords(text, source);
  } catch (err) {
    tally.records += 1;
    tally.failed += 1;
    emit?.(errorLine(err, source, 0));
    return;
  }
  const engine = classifier(policy);
  let docs: unknown[] | undefined;
  for (let i = 0; i < records.length; i++) {
    let raw = records[i];
    tally.records += 1;
    let envelopeWarning: string | undefined;
    if (raw instanceof RecordError && raw.field.startsWith('envelope ')) {
      // An EventBridge envelope intake would refuse (provenance): classify judges the record inside, and says so.
      docs ??= rawDocuments(text);
      const inner = envelopeDetail(docs[i]);
      if (inner) {
        envelopeWarning = `EventBridge envelope refused by intake (${raw.field.slice('envelope '.length)} ${raw.problem}): judged from its detail anyway; intake keeps such envelopes as dead letters`;
        raw = inner;
      }
    }
    let h: RecordHeader;
    let actor: Actor;
    let q: QuickIgnore | null;
    let a: Assessment | undefined;
    let change: Change | undefined;
    let warnings: string[] | undefined = envelopeWarning === undefined ? undefined : [envelopeWarning];
    try {
      h = readHeader(raw, source, i);
    } catch (err) {
      // Missing eventID, unusual account: judged anyway, with warnings. Anything else: an error line.
      const lenient = lenientHeader(raw, source, i);
      if (!lenient) {
        tally.failed += 1;
        emit?.(errorLine(err, source, i, raw));
        continue;
      }
      h = lenient.h;
      warnings = warnings ? [...warnings, ...lenient.warnings] : lenient.warnings;
    }
    try {
      actor = actorOf(h.identity);
      // Fast path: ignored without reading (or redacting) the request; the same answer assess gives.
      q = engine.quickIgnore(h.eventSource, h.eventName, h.readOnly, actor, h.account);
      if (!q) {
        // A write no rule is about is decided by its floor alone: no need to normalise (and redact) it either.
        const eventType = h.rec.eventType;
        a = engine.quickFloor(h.eventSource, h.eventName, h.readOnly, actor, typeof eventType === 'string' ? eventType : undefined, h.errorCode) ?? undefined;
        if (!a) a = engine.assess((change = normaliseHeader(h, actor)));
      }
    } catch (err) {
      tally.failed += 1;
      emit?.(errorLine(err, source, i, raw));
      continue;
    }
    if (q) {
      tally.tiers.ignore += 1;
      if (emit) emit(withWarnings(lineOf(h.eventId, h.eventName, h.account, actor, engine.ignored(q)), warnings));
      continue;
    }
    const done = a as Assessment;
    tally.tiers[done.tier] += 1;
    if (emit) emit(withWarnings(change ? lineFor(change, done) : lineOf(h.eventId, h.eventName, h.account, actor, done), warnings));
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Buffered line writer that respects back-pressure. */
class LineWriter {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly out: NodeJS.WritableStream) {}
  push(line: string): Promise<void> | void {
    this.buf.push(line);
    this.size += line.length + 1;
    if (this.size >= 1 << 16) return this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const text = `${this.buf.join('\n')}\n`;
    this.buf = [];
    this.size = 0;
    if (!this.out.write(text)) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }
}

/** classify reads no secrets: only which policy, and which revert role is vouch's own. */
const classifySchema = z.object({
  VOUCH_POLICY_FILE: z.string().min(1).optional(),
  VOUCH_REVERT_ROLE_ARN_TEMPLATE: awsSchema.shape.VOUCH_REVERT_ROLE_ARN_TEMPLATE,
});

export function classifyCommand(io: Io = DEFAULT_IO): Command {
  const cmd = new Command('classify')
    .summary("the policy's verdict on CloudTrail records, one JSON line each")
    .description('one JSON line per CloudTrail record: its tier, score, rules and revert plan (files, folders, .json.gz, JSON lines, stdin)')
    .argument('[path...]', 'files or folders of CloudTrail records; none or - reads standard input')
    .option('--policy <file>', 'the policy (default VOUCH_POLICY_FILE, else the shipped one)');
  return act(cmd, (paths: string[], opts: { policy?: string }) => classify(paths, opts, io));
}

async function classify(positionals: string[], values: { policy?: string }, io: Io): Promise<number> {
  let policy: Policy;
  try {
    const config = loadConfig(classifySchema);
    policy = loadPolicy(values.policy ?? config.VOUCH_POLICY_FILE, { revertRoleArnTemplate: config.VOUCH_REVERT_ROLE_ARN_TEMPLATE });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const writer = new LineWriter(io.stdout);
  const tally = newTally();
  const emit = (line: ClassifiedLine | ErrorLine): void => void writer.push(JSON.stringify(line));
  const inputs = positionals.length ? positionals : ['-'];
  const fail = (source: string, error: string): void => {
    tally.records += 1;
    tally.failed += 1;
    emit({ source, index: 0, field: '(file)', error });
  };
  for (const input of inputs) {
    let files: InputFile[];
    try {
      files = input === '-' ? [{ name: 'stdin', read: () => readStream(io.stdin) }] : await listDir(input);
    } catch (err) {
      fail(input, `${input}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    // The same reading as intake's file backfill: gzip as delivered to S3, UTF-8 text (binary data is one error).
    for (const file of files) {
      let read: Awaited<ReturnType<typeof readText>>;
      try {
        read = await readText(file);
      } catch (err) {
        fail(file.name, `${file.name}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        continue;
      }
      if (read.ok) classifyText(read.text, file.name, policy, tally, emit);
      else fail(file.name, read.reason);
      await writer.flush();
    }
  }
  await writer.flush();
  const t = tally.tiers;
  io.stderr.write(
    `classified ${tally.records} record(s): ignore ${t.ignore}, notify ${t.notify}, confirm ${t.confirm}, page ${t.page}, revert ${t.revert}, failed ${tally.failed}\n`,
  );
  return tally.failed > 0 ? 1 : 0;
}

/** `vouch policy check FILE`: every mistake with its line; exit 1 if any. */
export function policyCommand(io: Io = DEFAULT_IO): Command {
  const check = new Command('check').description('validate a policy file; every mistake with its line (exit 1 if any)').argument('<file>', 'the policy file (YAML)');
  act(check, (file: string) => checkPolicy(file, io));
  return new Command('policy').description('work with policy files').addCommand(check);
}

async function checkPolicy(file: string, io: Io): Promise<number> {
  try {
    const policy = loadPolicy(file);
    io.stdout.write(`${file}: ok (${policy.rules.length} rules)\n`);
    return 0;
  } catch (err) {
    if (err instanceof PolicyError) {
      for (const p of err.problems) io.stdout.write(`${file}:${p.line}: ${p.path ? `${p.path}: ` : ''}${p.message}\n`);
      io.stderr.write(`${file}: ${err.problems.length} problem(s)\n`);
      return 1;
    }
    throw err;
  }
}
