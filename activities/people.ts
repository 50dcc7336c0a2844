// The people directory: which person (e-mail, Slack user, Duo user) is behind an AWS actor.
// Keys are matched in this order: exact principal ARN, ARN glob (`*` matches any run of characters; the most specific
// glob wins), IAM user / role session name, e-mail. With no mapping, the actor's own e-mail is used, then its name
// when that looks like an e-mail (IAM Identity Center session names usually are).
import { z } from 'zod';
import { globRegExp } from '../src/core/glob';
import type { Actor } from '../src/core/types';

export interface DirectoryEntry {
  email: string;
  slackUserId?: string;
  duoUsername?: string;
  displayName?: string;
}

export interface PeopleDirectory {
  /** The person behind `actor`, with `duoUsername` always filled in; undefined when nobody can be found. */
  lookup(actor: Actor): DirectoryEntry | undefined;
  /** The entry that names this Slack user id (`slackUserId`), with `duoUsername` filled in; undefined when none does. */
  lookupBySlackUserId(slackUserId: string): DirectoryEntry | undefined;
}

export interface PeopleDirectoryOptions {
  /** How to derive the Duo username when an entry has none: the whole e-mail (default) or its local part. */
  duoUsernameFrom?: 'email' | 'localpart';
}

const EMAIL_PATTERN = /^[^\s@<>|]+@[^\s@<>|]+\.[^\s@<>|]+$/;

export function looksLikeEmail(value: string | undefined): value is string {
  return value !== undefined && EMAIL_PATTERN.test(value);
}

interface GlobKey {
  pattern: RegExp;
  /** Number of literal (non-`*`) characters: the more, the more specific. */
  specificity: number;
  entry: DirectoryEntry;
}

export function createPeopleDirectory(
  entries: Record<string, DirectoryEntry>,
  opts: PeopleDirectoryOptions = {},
): PeopleDirectory {
  const duoUsernameFrom = opts.duoUsernameFrom ?? 'email';
  const byArn = new Map<string, DirectoryEntry>();
  const globs: GlobKey[] = [];
  const byName = new Map<string, DirectoryEntry>();
  const byEmail = new Map<string, DirectoryEntry>();
  const bySlackUserId = new Map<string, DirectoryEntry>();

  for (const [rawKey, entry] of Object.entries(entries)) {
    const key = rawKey.trim();
    if (entry.slackUserId && !bySlackUserId.has(entry.slackUserId)) bySlackUserId.set(entry.slackUserId, entry);
    if (key.startsWith('arn:')) {
      if (key.includes('*')) {
        globs.push({ pattern: globRegExp(key), specificity: key.replace(/\*/g, '').length, entry });
      } else {
        byArn.set(key, entry);
      }
    } else if (key.includes('@')) {
      byEmail.set(key.toLowerCase(), entry);
    } else {
      // IAM user names are unique regardless of case; session names are compared the same way.
      byName.set(key.toLowerCase(), entry);
    }
  }
  // Most specific glob first; ties keep the order of the file.
  globs.sort((a, b) => b.specificity - a.specificity);

  function complete(entry: DirectoryEntry): DirectoryEntry {
    const localPart = entry.email.split('@')[0] ?? entry.email;
    return {
      ...entry,
      duoUsername: entry.duoUsername ?? (duoUsernameFrom === 'localpart' ? localPart : entry.email),
    };
  }

  function mapped(actor: Actor): DirectoryEntry | undefined {
    const arn = actor.arn?.trim();
    if (arn) {
      const exact = byArn.get(arn);
      if (exact) return exact;
      const glob = globs.find((g) => g.pattern.test(arn));
      if (glob) return glob.entry;
    }
    const name = actor.name.trim().toLowerCase();
    if (name) {
      const byUser = byName.get(name) ?? byEmail.get(name);
      if (byUser) return byUser;
    }
    if (actor.email) return byEmail.get(actor.email.trim().toLowerCase());
    return undefined;
  }

  return {
    lookup(actor: Actor): DirectoryEntry | undefined {
      const entry = mapped(actor);
      if (entry) return complete(entry);
      const email = looksLikeEmail(actor.email?.trim()) ? actor.email?.trim() : undefined;
      if (email) return complete({ email });
      const name = actor.name.trim();
      if (looksLikeEmail(name)) return complete({ email: name });
      return undefined;
    },
    lookupBySlackUserId(slackUserId: string): DirectoryEntry | undefined {
      const entry = bySlackUserId.get(slackUserId);
      return entry ? complete(entry) : undefined;
    },
  };
}

const entrySchema = z.strictObject({
  email: z.email(),
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U012ABCDEF')
    .optional(),
  duoUsername: z.string().trim().min(1).max(256).optional(),
  displayName: z.string().trim().min(1).max(200).optional(),
});

const directorySchema = z.record(z.string().trim().min(1, 'keys must not be empty'), entrySchema);

function describePath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)';
  const [key, ...fields] = path;
  return [`${JSON.stringify(String(key))}`, ...fields.map(String)].join('.');
}

/**
 * Parse and validate a people directory file: a JSON object whose keys are ARNs, ARN globs, user / session names
 * or e-mails, and whose values are DirectoryEntry objects. Errors name the source, the key and the field.
 */
export function parsePeopleDirectory(jsonText: string, source: string): Record<string, DirectoryEntry> {
  let data: unknown;
  try {
    data = JSON.parse(jsonText);
  } catch (err) {
    throw new Error(`${source}: people directory is not valid JSON: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error(`${source}: people directory must be a JSON object mapping actors to people`);
  }
  const result = directorySchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `${describePath(issue.path)}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      }
      return `${describePath(issue.path)}: ${issue.message}`;
    });
    throw new Error(`${source}: invalid people directory: ${problems.join('; ')}`);
  }
  return result.data;
}
