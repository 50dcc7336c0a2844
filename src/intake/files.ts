// Backfill and replay from files: CloudTrail's S3 log files (`.json.gz`, each a gzip of `{"Records":[…]}`: the
// CloudTrail User Guide, "CloudTrail log file examples") under `s3://bucket/prefix`, or a local folder of `.json.gz`,
// `.json` and `.jsonl` files. Every record goes through the shared pipeline, so a backfill that overlaps the
// real-time path only finds existing reviews.
//
// Files that cannot be read (not gzip, not UTF-8, not JSON) are dead-lettered whole with the reason; records that
// cannot be processed are dead-lettered one by one; the rest of the file, and the other files, go on. Digest and
// Insights files (`CloudTrail-Digest/`, `CloudTrail-Insight/`) are not change records and are skipped.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { GetObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { unwrapEnvelope } from './normalise';
import { RecordError } from './record-check';
import type { SourceKind } from './metrics';
import { DEFAULT_INTAKE_CONCURRENCY, type IntakeItem, type IntakePipeline, type RecordResult } from './pipeline';

const gunzip = promisify(zlib.gunzip) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface InputFile {
  /** `s3://bucket/key` or a path: names the file in errors and dead letters. */
  name: string;
  read(): Promise<Buffer>;
}

const RECORD_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
const NOT_RECORDS = /(^|[/_])CloudTrail-(Digest|Insight)([/_]|$)/;

/** Does this key or path hold CloudTrail change records? */
function isRecordFile(name: string): boolean {
  return RECORD_FILE.test(name) && !NOT_RECORDS.test(name);
}

/**
 * Every record file under `dir` (recursively, following symbolic links, each folder once), in name order (by code
 * point, the same everywhere). A path that is not a folder is returned as is, whatever its name.
 */
export async function listDir(dir: string): Promise<InputFile[]> {
  const stat = await fs.promises.stat(dir);
  const file = (p: string): InputFile => ({ name: p, read: () => fs.promises.readFile(p) });
  if (!stat.isDirectory()) return [file(dir)];
  const out: InputFile[] = [];
  const seen = new Set<string>(); // symlinked folders may loop
  const walk = async (d: string): Promise<void> => {
    const real = await fs.promises.realpath(d);
    if (seen.has(real)) return;
    seen.add(real);
    const entries = await fs.promises.readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(d, e.name);
      const target = e.isSymbolicLink() ? await fs.promises.stat(p).catch(() => undefined) : e;
      if (target?.isDirectory()) await walk(p);
      else if (target?.isFile() && isRecordFile(p)) out.push(file(p));
    }
  };
  await walk(dir);
  return out;
}

/** `s3://bucket/prefix` → {bucket, prefix}. */
function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m || !m[1]) throw new Error(`not an S3 URL (s3://bucket/prefix): ${JSON.stringify(url)}`);
  return { bucket: m[1], prefix: m[2] ?? '' };
}

/** An S3 client for backfills from the caller's environment; path-style addressing when an endpoint override (moto,
 * LocalStack) is configured. */
export function s3Client(env: Record<string, string | undefined>): S3Client {
  const custom = Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    maxAttempts: 3,
    ...(custom ? { forcePathStyle: true } : {}),
  });
}

/** Every record file under `s3://bucket/prefix`, in key order (ListObjectsV2 through the SDK's paginator). */
export async function listS3(client: S3Client, url: string): Promise<InputFile[]> {
  const { bucket, prefix } = parseS3Url(url);
  const out: InputFile[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const obj of page.Contents ?? []) {
      const key = obj.Key;
      if (!key || !isRecordFile(key)) continue;
      out.push({
        name: `s3://${bucket}/${key}`,
        read: async () => {
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          if (!got.Body) return Buffer.alloc(0);
          return Buffer.from(await got.Body.transformToByteArray());
        },
      });
    }
  }
  return out;
}

export interface SplitFile {
  items: Array<{ record: unknown; text?: string; index: number }>;
}

/**
 * The records of one file's text: `{"Records":[…]}`, a JSON array, one record or envelope, or JSON lines (each line
 * keeps its own text, so a bad line is dead-lettered as it was and the other lines go on). Throws RecordError naming
 * the position when the text is none of these (e.g. a truncated `{"Records":[…` file).
 */
export function splitRecords(text: string, source: string): SplitFile {
  const trimmed = text.trim();
  if (trimmed === '') return { items: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1 && lines.every((l) => l.trimStart().startsWith('{'))) {
      return {
        items: lines.map((line, index) => {
          try {
            return { record: unwrapEnvelope(JSON.parse(line), source, index), text: line, index };
          } catch (lineErr) {
            return { record: new RecordError(source, index, '(json)', `is not valid JSON: ${(lineErr as Error).message}`), text: line, index };
          }
        }),
      };
    }
    throw new RecordError(source, 0, '(json)', `is not valid JSON: ${(err as Error).message}`);
  }
  let records: unknown[];
  if (Array.isArray(doc)) records = doc;
  else if (doc !== null && typeof doc === 'object' && Array.isArray((doc as { Records?: unknown }).Records)) {
    records = (doc as { Records: unknown[] }).Records;
  } else records = [doc];
  return { items: records.map((r, index) => ({ record: unwrapEnvelope(r, source, index), index })) };
}

/** One file's records as pipeline items: each keeps its source (the file), its index and, for JSON lines, its text. */
export function itemsOf(kind: SourceKind, name: string, split: SplitFile): IntakeItem[] {
  return split.items.map((it) => ({ kind, source: name, index: it.index, record: it.record, ...(it.text !== undefined ? { text: it.text } : {}) }));
}

export interface FilesSummary {
  files: number;
  /** Files dead-lettered whole (unreadable, or over the size limit). */
  badFiles: number;
  records: number;
  ignored: number;
  started: number;
  existing: number;
  /** Unusable records and files, kept with the reason (too-old reports not included). */
  deadLettered: number;
  /** Records older than the maximum age: reported in the dead-letter store, never reviewed. */
  tooOld: number;
}

/** Default limit of one file's decompressed size (VOUCH_INTAKE_MAX_FILE_BYTES): 256 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads, gunzips and decodes one file; returns text, or the reason it cannot be read. The gunzip stops as soon as the
 * output passes `maxBytes` (zlib's maxOutputLength), so a gzip bomb is refused without being inflated into memory.
 */
export async function readText(
  file: InputFile,
  opts: { maxBytes?: number } = {},
): Promise<{ ok: true; text: string } | { ok: false; reason: string; raw: Buffer }> {
  const max = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const bytes = await file.read();
  let data = bytes;
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (/\.gz$/i.test(file.name) || gzipped) {
    try {
      data = await gunzip(bytes, { maxOutputLength: max });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return {
          ok: false,
          reason: `${file.name}: decompresses to more than ${max} bytes, the limit for one file (VOUCH_INTAKE_MAX_FILE_BYTES): not read (a gzip bomb, or raise the limit)`,
          raw: bytes,
        };
      }
      return { ok: false, reason: `${file.name}: is not a valid gzip file: ${(err as Error).message}`, raw: bytes };
    }
  } else if (data.length > max) {
    return { ok: false, reason: `${file.name}: is ${data.length} bytes, over the limit for one file of ${max} bytes (VOUCH_INTAKE_MAX_FILE_BYTES): not read`, raw: bytes.subarray(0, 4096) };
  }
  try {
    return { ok: true, text: utf8.decode(data) };
  } catch {
    return { ok: false, reason: `${file.name}: is not UTF-8 text (binary data?)`, raw: bytes };
  }
}

/**
 * Ingests files one after the other, the records of each with bounded concurrency. A transient failure (Temporal
 * unreachable) stops the run with the error; running it again is safe (reviews already started are found).
 */
export async function ingestFiles(
  files: InputFile[],
  pipeline: IntakePipeline,
  opts: { concurrency?: number; maxFileBytes?: number; onFile?: (name: string, results: RecordResult[]) => void } = {},
): Promise<FilesSummary> {
  const summary: FilesSummary = { files: 0, badFiles: 0, records: 0, ignored: 0, started: 0, existing: 0, deadLettered: 0, tooOld: 0 };
  for (const file of files) {
    summary.files += 1;
    const read = await readText(file, opts.maxFileBytes ? { maxBytes: opts.maxFileBytes } : {});
    if (!read.ok) {
      await pipeline.reject({ kind: 'files', source: file.name, reason: read.reason, raw: read.raw, field: '(file)' });
      summary.badFiles += 1;
      summary.deadLettered += 1;
      continue;
    }
    let split: SplitFile;
    try {
      split = splitRecords(read.text, file.name);
    } catch (err) {
      const reason = err instanceof RecordError ? `${file.name}: ${err.field} ${err.problem}` : `${file.name}: ${(err as Error).message}`;
      await pipeline.reject({ kind: 'files', source: file.name, reason, raw: read.text, field: '(file)' });
      summary.badFiles += 1;
      summary.deadLettered += 1;
      continue;
    }
    const items = itemsOf('files', file.name, split);
    const results = await pipeline.processAll(items, opts.concurrency ?? DEFAULT_INTAKE_CONCURRENCY);
    for (const r of results) {
      summary.records += 1;
      if (r.status === 'dead-lettered') summary[r.tooOld ? 'tooOld' : 'deadLettered'] += 1;
      else summary[r.status] += 1;
    }
    opts.onFile?.(file.name, results);
  }
  return summary;
}
