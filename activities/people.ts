// The people directory: which person (e-mail, Slack user, Duo user) is behind an AWS actor. A person is asked to vouch
// for a change only through an identity vouch can trust; see README "Threat model" and "People directory".
//
// Trusted, in this order:
//   1. The principal ARN, matched against the directory's keys: an exact ARN, or a glob anchored to one account
//      (`arn:aws:sts::111122223333:assumed-role/deploy/*`). The ARN is written by AWS; the key by whoever runs vouch.
//   2. An IAM Identity Center session: an `AssumedRole` whose session issuer is a role Identity Center created in that
//      same account (`arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/[<region>/]AWSReservedSSO_…`), whose
//      assumed-role ARN names that role in that account. Identity Center sets its session name to the user's
//      sign-in name, so that name is looked up (`sso:<name>` or `<e-mail>` keys), or used as the e-mail when it is one.
//      An entry with `identityCenterUserId` also needs the record to carry that Identity Center user id
//      (userIdentity.onBehalfOf.userId).
//   3. An `IdentityCenterUser` identity: its Identity Center user id (onBehalfOf.userId), matched against the
//      entries' `identityCenterUserId`.
//   4. An IAM user: its userName, written by AWS, when it is an e-mail (or an `<e-mail>` key names it).
// Not trusted: the session name of any other role (RoleSessionName is chosen by whoever calls AssumeRole), the
// sourceIdentity (also chosen by the caller), and the e-mail the normaliser derives from either. Such an actor maps
// to nobody unless its ARN is in the directory: the review is then escalated to security.
import { z } from 'zod';
import { globRegExp, isGlob } from '../src/core/glob';
import type { Actor } from '../src/core/types';

export interface DirectoryEntry {
  email: string;
  slackUserId?: string;
  duoUsername?: string;
  displayName?: string;
  /** IAM Identity Center user id (a UUID, userIdentity.onBehalfOf.userId) that sessions mapped to this entry must carry. */
  identityCenterUserId?: string;
}

/** Who is behind an actor, and how vouch knows; or why nobody can be asked. */
export type DirectoryMatch = { entry: DirectoryEntry; via: string } | { entry?: undefined; reason: string };

export interface PeopleDirectory {
  /** The person behind `actor`, with `duoUsername` always filled in; undefined when nobody can be found. */
  lookup(actor: Actor): DirectoryEntry | undefined;
  /** As lookup, with how the person was found, or why nobody was. */
  match(actor: Actor): DirectoryMatch;
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

// ---- trusted identities ----

const PARTITION = 'aws(?:-[a-z]+)*';
const SSO_ISSUER = new RegExp(
  `^arn:(${PARTITION}):iam::(\\d{12}):role/aws-reserved/sso\\.amazonaws\\.com/(?:[a-z0-9-]+/)?(AWSReservedSSO_[\\w+=,.@-]+)$`,
);
const ASSUMED_ROLE = new RegExp(`^arn:(${PARTITION}):sts::(\\d{12}):assumed-role/([\\w+=,.@-]+)/(.+)$`);
const IAM_USER = new RegExp(`^arn:(${PARTITION}):iam::(\\d{12}):user/(?:.*/)?([\\w+=,.@-]+)$`);
/** A key that is an ARN glob must name the partition, the service and one account before any `*` or `?`. */
const ANCHORED_ARN = new RegExp(`^arn:${PARTITION}:(?:iam|sts)::\\d{12}:[^*?]`);

type TrustedIdentity =
  | { kind: 'sso-session'; userName: string; role: string }
  | { kind: 'identity-center-user'; userId: string }
  | { kind: 'iam-user'; userName: string };

/** What of `actor` vouch can trust beyond its ARN, or why nothing is. */
function trustedIdentity(actor: Actor): TrustedIdentity | { untrusted: string } {
  switch (actor.type) {
    case 'AssumedRole': {
      const session = ASSUMED_ROLE.exec(actor.arn ?? '');
      const issuer = SSO_ISSUER.exec(actor.sessionIssuerArn ?? '');
      if (session && issuer && session[1] === issuer[1] && session[2] === issuer[2] && session[3] === issuer[3]) {
        return { kind: 'sso-session', userName: session[4] as string, role: session[3] as string };
      }
      const role = session?.[3] ?? actor.sessionIssuerArn ?? 'its role';
      return {
        untrusted:
          `the session name of role ${role} is chosen by whoever assumes the role (only IAM Identity Center ` +
          `AWSReservedSSO_ roles of the same account set it from the user's sign-in)`,
      };
    }
    case 'IdentityCenterUser':
      return actor.identityCenterUserId
        ? { kind: 'identity-center-user', userId: actor.identityCenterUserId }
        : { untrusted: 'the record carries no Identity Center user id (userIdentity.onBehalfOf.userId)' };
    case 'IAMUser': {
      const user = IAM_USER.exec(actor.arn ?? '');
      return user ? { kind: 'iam-user', userName: user[3] as string } : { untrusted: 'the IAM user has no ARN' };
    }
    case 'Root':
      return { untrusted: 'the root user is nobody in particular' };
    default:
      return { untrusted: `a ${actor.type} identity names no person` };
  }
}

// ---- keys ----

type Key = { kind: 'arn'; arn: string } | { kind: 'arn-glob'; pattern: RegExp; specificity: number } | { kind: 'login'; login: string };

/** How a directory key is read, or a message saying what is wrong with it. */
export function parseKey(rawKey: string): Key | { error: string } {
  const key = rawKey.trim();
  if (key.startsWith('arn:')) {
    if (!isGlob(key)) return { kind: 'arn', arn: key };
    if (!ANCHORED_ARN.test(key)) {
      return { error: 'an ARN glob must name one account before any * or ? (e.g. arn:aws:sts::111122223333:assumed-role/deploy/*)' };
    }
    return { kind: 'arn-glob', pattern: globRegExp(key), specificity: key.replace(/[*?]/g, '').length };
  }
  if (key.toLowerCase().startsWith('sso:')) {
    const login = key.slice(4).trim();
    return login ? { kind: 'login', login: login.toLowerCase() } : { error: 'sso: must be followed by an IAM Identity Center user name' };
  }
  if (looksLikeEmail(key)) return { kind: 'login', login: key.toLowerCase() };
  return {
    error:
      'a bare name is not a trusted key (session names are chosen by the caller): use the principal ARN ' +
      `(arn:aws:iam::<account>:user/${key}), or sso:${key} for an IAM Identity Center user`,
  };
}

export function createPeopleDirectory(
  entries: Record<string, DirectoryEntry>,
  opts: PeopleDirectoryOptions = {},
): PeopleDirectory {
  const duoUsernameFrom = opts.duoUsernameFrom ?? 'email';
  const byArn = new Map<string, DirectoryEntry>();
  const globs: Array<{ pattern: RegExp; specificity: number; entry: DirectoryEntry }> = [];
  const byLogin = new Map<string, DirectoryEntry>();
  const byIdentityCenterId = new Map<string, DirectoryEntry>();
  const bySlackUserId = new Map<string, DirectoryEntry>();

  for (const [rawKey, entry] of Object.entries(entries)) {
    const key = parseKey(rawKey);
    if ('error' in key) throw new Error(`people directory key ${JSON.stringify(rawKey)}: ${key.error}`);
    if (key.kind === 'arn') byArn.set(key.arn, entry);
    else if (key.kind === 'arn-glob') globs.push({ pattern: key.pattern, specificity: key.specificity, entry });
    else byLogin.set(key.login, entry);
    if (entry.identityCenterUserId) byIdentityCenterId.set(entry.identityCenterUserId.toLowerCase(), entry);
    if (entry.slackUserId && !bySlackUserId.has(entry.slackUserId)) bySlackUserId.set(entry.slackUserId, entry);
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

  /** An entry pinned to an Identity Center user applies only to sessions that carry that user's id. */
  function pinned(actor: Actor, entry: DirectoryEntry, via: string): DirectoryMatch {
    const want = entry.identityCenterUserId?.toLowerCase();
    if (want && actor.identityCenterUserId?.toLowerCase() !== want) {
      return {
        reason:
          `${via} is pinned to Identity Center user ${entry.identityCenterUserId}, but the record carries ` +
          `${actor.identityCenterUserId ? `user ${actor.identityCenterUserId}` : 'no Identity Center user id'}`,
      };
    }
    return { entry: complete(entry), via };
  }

  function match(actor: Actor): DirectoryMatch {
    const arn = actor.arn?.trim();
    if (arn) {
      const exact = byArn.get(arn);
      if (exact) return pinned(actor, exact, `directory key ${arn}`);
      const glob = globs.find((g) => g.pattern.test(arn));
      if (glob) return pinned(actor, glob.entry, `a directory glob matching ${arn}`);
    }
    const trusted = trustedIdentity(actor);
    const who = `${actor.type} ${arn ?? actor.name}`;
    if ('untrusted' in trusted) return { reason: `${who} is not in the people directory, and ${trusted.untrusted}` };
    switch (trusted.kind) {
      case 'sso-session': {
        const entry = byLogin.get(trusted.userName.toLowerCase());
        if (entry) return pinned(actor, entry, `Identity Center user ${trusted.userName} (${trusted.role})`);
        if (looksLikeEmail(trusted.userName)) {
          return pinned(actor, { email: trusted.userName }, `Identity Center user ${trusted.userName} (${trusted.role})`);
        }
        return { reason: `Identity Center user ${trusted.userName} (${trusted.role}) is not an e-mail and not in the people directory (sso:${trusted.userName})` };
      }
      case 'identity-center-user': {
        const entry = byIdentityCenterId.get(trusted.userId.toLowerCase());
        return entry
          ? { entry: complete(entry), via: `Identity Center user id ${trusted.userId}` }
          : { reason: `no people directory entry has identityCenterUserId ${trusted.userId}` };
      }
      case 'iam-user': {
        const entry = byLogin.get(trusted.userName.toLowerCase());
        if (entry) return pinned(actor, entry, `IAM user ${trusted.userName}`);
        if (looksLikeEmail(trusted.userName)) return { entry: complete({ email: trusted.userName }), via: `IAM user ${trusted.userName}` };
        return { reason: `${who} is not in the people directory and its user name is not an e-mail` };
      }
    }
  }

  return {
    lookup: (actor) => match(actor).entry,
    match,
    lookupBySlackUserId(slackUserId: string): DirectoryEntry | undefined {
      const entry = bySlackUserId.get(slackUserId);
      return entry ? complete(entry) : undefined;
    },
  };
}

// ---- the directory file ----

const entrySchema = z.strictObject({
  email: z.email(),
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U012ABCDEF')
    .optional(),
  duoUsername: z.string().trim().min(1).max(256).optional(),
  displayName: z.string().trim().min(1).max(200).optional(),
  identityCenterUserId: z
    .string()
    .regex(/^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be an IAM Identity Center user id (a UUID)')
    .optional(),
});

const directorySchema = z.record(z.string(), entrySchema);

function describePath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)';
  const [key, ...fields] = path;
  return [`${JSON.stringify(String(key))}`, ...fields.map(String)].join('.');
}

/**
 * Parse and validate a people directory file: a JSON object whose keys are principal ARNs, ARN globs anchored to an
 * account, `sso:<Identity Center user name>` or e-mails (Identity Center or IAM user names), and whose values are
 * DirectoryEntry objects. Errors name the source, the key and the field.
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
  const problems: string[] = [];
  for (const key of Object.keys(data)) {
    const parsed = key.trim() ? parseKey(key) : { error: 'keys must not be empty' };
    if ('error' in parsed) problems.push(`${describePath([key])}: ${parsed.error}`);
  }
  const result = directorySchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        problems.push(`${describePath(issue.path)}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`);
      } else {
        problems.push(`${describePath(issue.path)}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new Error(`${source}: invalid people directory: ${problems.join('; ')}`);
  return result.data;
}
