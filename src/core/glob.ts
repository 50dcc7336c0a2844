// The one glob matcher (policy event names, allow-list principals and user agents, vouch's own sessions, IAM actions
// in policy documents, people-directory ARNs), on picomatch's dependency-free POSIX build.
//
// Globs here match names and ARNs, not file paths: `*` is any run of characters (`/` included), `?` is one character
// other than `/`, and everything else is literal (braces, brackets, parentheses, `!`, `@`, `+` and backslashes are
// escaped before picomatch sees them). An empty text matches no glob; `**` is `*` (and `/**/` also matches `/`).
// A leading `./`, and `.`/`..` segments after a `/`, keep their path meaning (no ARN or event name has them).
import picomatch from 'picomatch/posix';

export interface GlobOptions {
  /** Compare without regard to case (IAM action names). */
  ignoreCase?: boolean;
}

const BASE: picomatch.PicomatchOptions = {
  bash: true, // a single `*` crosses `/` (ARNs: arn:aws:iam::*:role/path/name)
  dot: true,
  nobrace: true,
  noextglob: true,
  nonegate: true,
  literalBrackets: true,
};

/** Every character but `*`, `?`, `/`, letters, digits, `_`, `-` and spaces is escaped: literal. */
function literal(glob: string): string {
  return glob.replace(/[^\w*?/\s-]/g, '\\$&');
}

/** Does the text contain glob characters (otherwise it is compared as is)? */
export function isGlob(text: string): boolean {
  return text.includes('*') || text.includes('?');
}

/** The glob as an anchored RegExp (`test` it directly on hot paths). */
export function globRegExp(glob: string, opts: GlobOptions = {}): RegExp {
  return picomatch.makeRe(literal(glob), { ...BASE, flags: opts.ignoreCase ? 'si' : 's' });
}

/** A test for one glob or any of several. */
export function globMatcher(globs: string | readonly string[], opts: GlobOptions = {}): (text: string) => boolean {
  const res = (typeof globs === 'string' ? [globs] : globs).map((g) => globRegExp(g, opts));
  if (res.length === 1) {
    const re = res[0] as RegExp;
    return (text) => re.test(text);
  }
  return (text) => res.some((re) => re.test(text));
}

const cache = new Map<string, RegExp>();

/** One-off test of a glob that is only known at run time (from a document or a template), with a bounded cache. */
export function globTest(glob: string, text: string, opts: GlobOptions = {}): boolean {
  const key = `${opts.ignoreCase ? 'i' : 's'}${glob}`;
  let re = cache.get(key);
  if (!re) {
    if (cache.size > 10_000) cache.clear();
    re = globRegExp(glob, opts);
    cache.set(key, re);
  }
  return re.test(text);
}
