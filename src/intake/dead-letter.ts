// The dead-letter store: every record (or message, or file) that intake cannot process is kept here with the reason,
// never dropped. The default store is a local folder with one JSON file per letter:
//
//   {"version":1,"at":"…","sourceKind":"sqs","source":"sqs://…#<messageId>","reason":"…","field":"eventTime",
//    "eventID":"…","details":{…},"bytes":123,"raw":{"encoding":"utf8","text":"…"}}      (or "base64" for binary)
//
// File names come from a hash of (source, raw bytes): the same letter written twice (a redelivered SQS message, a
// re-run backfill) is kept once. Writes are atomic (temporary file, fsync, rename), so a letter exists completely
// or not at all before the caller acknowledges the input (e.g. deletes the SQS message).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SourceKind } from './metrics';

export interface DeadLetter {
  sourceKind: SourceKind;
  /** Where it came from, precise enough to find it again: `s3://b/k.json.gz#3`, `sqs://…#<messageId>`, `dir/f.json#0`. */
  source: string;
  /** Human reason, naming the field when one is wrong. */
  reason: string;
  field?: string;
  eventId?: string;
  /** What arrived, as received: text, bytes, or a parsed value (kept as JSON). */
  raw: string | Buffer | unknown;
  details?: Record<string, unknown>;
}

export interface StoredDeadLetter {
  version: 1;
  at: string;
  sourceKind: SourceKind;
  source: string;
  reason: string;
  field?: string;
  eventID?: string;
  details?: Record<string, unknown>;
  bytes: number;
  raw: { encoding: 'utf8'; text: string } | { encoding: 'base64'; base64: string };
}

export interface DeadLetterStore {
  /** Keeps the letter durably and returns where (a path or URL). Throws when it could not be kept. */
  put(letter: DeadLetter): Promise<string>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function rawBytes(raw: unknown): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (typeof raw === 'string') return Buffer.from(raw, 'utf8');
  if (raw instanceof Uint8Array) return Buffer.from(raw);
  if (raw === undefined) return Buffer.alloc(0);
  try {
    return Buffer.from(JSON.stringify(raw) ?? String(raw), 'utf8');
  } catch {
    return Buffer.from(String(raw), 'utf8');
  }
}

function encode(bytes: Buffer): StoredDeadLetter['raw'] {
  try {
    return { encoding: 'utf8', text: utf8.decode(bytes) };
  } catch {
    return { encoding: 'base64', base64: bytes.toString('base64') };
  }
}

/** Decodes a stored letter's raw field back to bytes. */
export function rawOf(letter: StoredDeadLetter): Buffer {
  return letter.raw.encoding === 'utf8' ? Buffer.from(letter.raw.text, 'utf8') : Buffer.from(letter.raw.base64, 'base64');
}

export class FolderDeadLetterStore implements DeadLetterStore {
  constructor(readonly dir: string) {}

  async put(letter: DeadLetter): Promise<string> {
    const bytes = rawBytes(letter.raw);
    const id = createHash('sha256').update(letter.source).update('\0').update(bytes).digest('hex').slice(0, 24);
    const file = path.join(this.dir, `${id}.json`);
    await fs.promises.mkdir(this.dir, { recursive: true });
    try {
      await fs.promises.access(file);
      return file; // kept already
    } catch {
      // not yet kept
    }
    const stored: StoredDeadLetter = {
      version: 1,
      at: new Date().toISOString(),
      sourceKind: letter.sourceKind,
      source: letter.source,
      reason: letter.reason,
      ...(letter.field ? { field: letter.field } : {}),
      ...(letter.eventId ? { eventID: letter.eventId } : {}),
      ...(letter.details ? { details: letter.details } : {}),
      bytes: bytes.length,
      raw: encode(bytes),
    };
    const tmp = path.join(this.dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await fs.promises.open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(stored)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
    return file;
  }

  /** Every letter in the folder, oldest first. */
  async list(): Promise<Array<StoredDeadLetter & { file: string }>> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: Array<StoredDeadLetter & { file: string }> = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const file = path.join(this.dir, name);
      out.push({ ...(JSON.parse(await fs.promises.readFile(file, 'utf8')) as StoredDeadLetter), file });
    }
    return out.sort((a, b) => a.at.localeCompare(b.at) || a.file.localeCompare(b.file));
  }
}

/** The folder used when none is configured: `VOUCH_DEAD_LETTER_DIR` in `env`, else `.data/dead-letter` under the cwd. */
export function defaultDeadLetterDir(env: Record<string, string | undefined>): string {
  return env.VOUCH_DEAD_LETTER_DIR || path.resolve('.data', 'dead-letter');
}
