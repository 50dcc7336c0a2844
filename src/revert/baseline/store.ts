// Where the trusted baseline lives: a local folder (the default) or an S3 bucket (production). One JSON document per
// account and scope (`<account>/<region|global>.json`). Writers go through `update`, a load-modify-save guarded
// against concurrent writers (a lock file in a folder; S3 conditional writes with If-Match / If-None-Match), so the
// scheduled refresh and an accepted change never overwrite each other.
import fs from 'node:fs';
import path from 'node:path';
import {
  GetObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { awsError } from '../failures';
import { BASELINE_FORMAT, emptyDoc, type BaselineDoc } from './types';

export interface BaselineStore {
  /** Human-readable location: a folder path or s3://bucket/prefix/. */
  readonly location: string;
  load(account: string, scope: string): Promise<BaselineDoc | null>;
  /**
   * Loads the document (or an empty one), lets `mutate` change it, and saves it, retrying from a fresh load when
   * another writer got there first. `mutate` may therefore run more than once; it must only change the document.
   */
  update(account: string, scope: string, mutate: (doc: BaselineDoc) => void): Promise<BaselineDoc>;
  /** Every (account, scope) with a document. */
  list(): Promise<{ account: string; scope: string }[]>;
}

export class BaselineStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BaselineStoreError';
  }
}

const ACCOUNT = /^\d{12}$/;
const SCOPE = /^(global|[a-z]{2}(-[a-z]+)+-\d+[a-z]?)$/;

function checkIds(account: string, scope: string): void {
  if (!ACCOUNT.test(account)) throw new BaselineStoreError(`not an AWS account id: ${JSON.stringify(account)}`);
  if (!SCOPE.test(scope)) throw new BaselineStoreError(`not a region or "global": ${JSON.stringify(scope)}`);
}

/** Parses and checks a stored document; errors name where it came from. */
export function parseBaselineDoc(text: string, where: string, account: string, scope: string): BaselineDoc {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BaselineStoreError(`${where}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const d = doc as Partial<BaselineDoc> | null;
  if (!d || typeof d !== 'object' || d.format !== BASELINE_FORMAT) {
    throw new BaselineStoreError(`${where}: not a vouch baseline (format must be "${BASELINE_FORMAT}")`);
  }
  if (d.account !== account || d.scope !== scope) {
    throw new BaselineStoreError(`${where}: holds ${String(d.account)}/${String(d.scope)}, expected ${account}/${scope}`);
  }
  if (!d.resources || typeof d.resources !== 'object' || Array.isArray(d.resources)) {
    throw new BaselineStoreError(`${where}: "resources" must be an object`);
  }
  for (const [key, r] of Object.entries(d.resources)) {
    if (!r || !Array.isArray(r.versions) || typeof r.kind !== 'string' || typeof r.id !== 'string') {
      throw new BaselineStoreError(`${where}: resource ${key} must have kind, id and versions[]`);
    }
  }
  return d as BaselineDoc;
}

function serialise(doc: BaselineDoc): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- folder ----

export class FolderStore implements BaselineStore {
  readonly location: string;

  constructor(
    readonly dir: string,
    private readonly lockTimeoutMs = 10_000,
  ) {
    this.location = path.resolve(dir);
  }

  private file(account: string, scope: string): string {
    checkIds(account, scope);
    return path.join(this.location, account, `${scope}.json`);
  }

  async load(account: string, scope: string): Promise<BaselineDoc | null> {
    const file = this.file(account, scope);
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return parseBaselineDoc(text, file, account, scope);
  }

  async update(account: string, scope: string, mutate: (doc: BaselineDoc) => void): Promise<BaselineDoc> {
    const file = this.file(account, scope);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const release = await this.lock(`${file}.lock`);
    try {
      const doc = (await this.load(account, scope)) ?? emptyDoc(account, scope, new Date().toISOString());
      mutate(doc);
      doc.updatedAt = new Date().toISOString();
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await fs.promises.writeFile(tmp, serialise(doc), { mode: 0o600 });
      await fs.promises.rename(tmp, file); // atomic: readers see the old or the new document, never half
      return doc;
    } finally {
      await release();
    }
  }

  private async lock(lockFile: string): Promise<() => Promise<void>> {
    const until = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        const fh = await fs.promises.open(lockFile, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return async () => {
          await fs.promises.rm(lockFile, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock older than a minute belongs to a writer that died: take it over.
        const stat = await fs.promises.stat(lockFile).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > 60_000) await fs.promises.rm(lockFile, { force: true });
        else if (Date.now() > until) throw new BaselineStoreError(`${lockFile}: locked by another writer for over ${this.lockTimeoutMs} ms`);
        else await sleep(25);
      }
    }
  }

  async list(): Promise<{ account: string; scope: string }[]> {
    const out: { account: string; scope: string }[] = [];
    const accounts = await fs.promises.readdir(this.location).catch(() => [] as string[]);
    for (const account of accounts.filter((a) => ACCOUNT.test(a)).sort()) {
      const files = await fs.promises.readdir(path.join(this.location, account));
      for (const f of files.sort()) {
        const m = /^(.+)\.json$/.exec(f);
        if (m && SCOPE.test(m[1] as string)) out.push({ account, scope: m[1] as string });
      }
    }
    return out;
  }
}

// ---- S3 ----

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix, e.g. "vouch/baseline/" (a trailing slash is added when missing). */
  prefix?: string;
  /** Attempts when another writer changed the object between our read and write. Default 5. */
  maxAttempts?: number;
}

export class S3Store implements BaselineStore {
  readonly location: string;
  private readonly prefix: string;

  constructor(private readonly opts: S3StoreOptions) {
    const p = opts.prefix ?? '';
    this.prefix = p && !p.endsWith('/') ? `${p}/` : p;
    this.location = `s3://${opts.bucket}/${this.prefix}`;
  }

  private key(account: string, scope: string): string {
    checkIds(account, scope);
    return `${this.prefix}${account}/${scope}.json`;
  }

  private async get(account: string, scope: string): Promise<{ doc: BaselineDoc; etag?: string } | null> {
    const Key = this.key(account, scope);
    try {
      const res = await this.opts.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key }));
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      return { doc: parseBaselineDoc(text, `s3://${this.opts.bucket}/${Key}`, account, scope), etag: res.ETag };
    } catch (err) {
      const { code, status } = awsError(err);
      if (code === 'NoSuchKey' || (status === 404 && code !== 'NoSuchBucket')) return null;
      throw err;
    }
  }

  async load(account: string, scope: string): Promise<BaselineDoc | null> {
    return (await this.get(account, scope))?.doc ?? null;
  }

  async update(account: string, scope: string, mutate: (doc: BaselineDoc) => void): Promise<BaselineDoc> {
    const Key = this.key(account, scope);
    const attempts = this.opts.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(account, scope);
      const doc = current?.doc ?? emptyDoc(account, scope, new Date().toISOString());
      mutate(doc);
      doc.updatedAt = new Date().toISOString();
      try {
        await this.opts.client.send(
          new PutObjectCommand({
            Bucket: this.opts.bucket,
            Key,
            Body: serialise(doc),
            ContentType: 'application/json',
            ...(current?.etag ? { IfMatch: current.etag } : { IfNoneMatch: '*' }),
          }),
        );
        return doc;
      } catch (err) {
        const { code, status } = awsError(err);
        const conflict = status === 412 || status === 409 || code === 'PreconditionFailed';
        if (!conflict || attempt >= attempts) throw err;
        await sleep(20 * attempt);
      }
    }
  }

  async list(): Promise<{ account: string; scope: string }[]> {
    const out: { account: string; scope: string }[] = [];
    for await (const res of paginateListObjectsV2({ client: this.opts.client }, { Bucket: this.opts.bucket, Prefix: this.prefix })) {
      for (const o of res.Contents ?? []) {
        const m = /^(\d{12})\/(.+)\.json$/.exec((o.Key ?? '').slice(this.prefix.length));
        if (m && SCOPE.test(m[2] as string)) out.push({ account: m[1] as string, scope: m[2] as string });
      }
    }
    return out.sort((a, b) => `${a.account}/${a.scope}`.localeCompare(`${b.account}/${b.scope}`));
  }
}

export interface StoreFactoryOptions {
  /** S3 endpoint override (moto in tests and the demo). */
  endpoint?: string;
  region?: string;
  credentials?: S3ClientConfig['credentials'];
}

/** `s3://bucket/prefix` → S3Store (vouch's own credentials, not the revert role); anything else → a folder. */
export function createBaselineStore(location: string, opts: StoreFactoryOptions = {}): BaselineStore {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
  if (location.startsWith('s3://') && !m) throw new BaselineStoreError(`not an s3://bucket/prefix location: ${location}`);
  if (m) {
    const client = new S3Client({
      region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
      maxAttempts: 2,
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
    return new S3Store({ client, bucket: m[1] as string, prefix: m[2] ?? '' });
  }
  return new FolderStore(location);
}

/** Loads the documents a change in `account`/`region` may need (its region and `global`). */
export async function loadDocs(store: BaselineStore, account: string, regions: string[]): Promise<BaselineDoc[]> {
  const scopes = [...new Set([...regions, 'global'])];
  const docs = await Promise.all(scopes.map((s) => store.load(account, s)));
  return docs.filter((d): d is BaselineDoc => d !== null);
}
