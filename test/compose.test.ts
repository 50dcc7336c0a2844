// docker-compose.yml, checked the way Compose itself reads it: YAML (with merge keys) → ${VAR} interpolation from
// .env → the official compose-spec JSON schema (as shipped by the `dclint` package) → the cross-references the
// schema cannot express. Then vouch's own rules (pinned images, secrets only via env_file, search attributes in step
// with workflows/search-attributes.ts), and the parts that can run here for real: the handler's healthcheck command
// against a loopback /healthz, and src/deploy/temporal-setup.sh against the official Temporal dev server (namespace
// step) and against recording stand-ins for nc and temporal-sql-tool (schema step).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SECRET_VARS } from '../src/cli/config';
import { SHUTDOWN_GRACE } from '../src/cli/worker';
import { resolveTemporalCli } from '../src/demo/tools/resolve';
import { ALL_SEARCH_ATTRIBUTES, devServerSearchAttributeArgs } from '../workflows/search-attributes';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const DOCKERFILE = path.join(ROOT, 'src/deploy/Dockerfile');
const SETUP_SCRIPT = path.join(ROOT, 'src/deploy/temporal-setup.sh');

/** What an operator's .env must at least hold for `docker compose config` to succeed. */
const PG_PASSWORD = 'pg-password-from-dotenv';
const DOTENV: Readonly<Record<string, string>> = { POSTGRES_PASSWORD: PG_PASSWORD };
/** Secrets that are not vouch's own config but still must never be literal in the compose file. */
const OTHER_SECRETS = ['POSTGRES_PASSWORD', 'POSTGRES_PWD', 'SQL_PASSWORD'];
const VOUCH_SERVICES = ['vouch-worker', 'vouch-intake', 'vouch-handler'];

type Dict = Record<string, unknown>;
type Env = Readonly<Record<string, string | undefined>>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dict(v: unknown, where: string): Dict {
  if (!isDict(v)) throw new assert.AssertionError({ message: `${where} must be a mapping, got ${JSON.stringify(v)}` });
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') {
    throw new assert.AssertionError({ message: `${where} must be a string, got ${JSON.stringify(v)}` });
  }
  return v;
}

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v)) throw new assert.AssertionError({ message: `${where} must be a list, got ${JSON.stringify(v)}` });
  return v.map((item, i) => str(item, `${where}[${i}]`));
}

// ---------------------------------------------------------------------------------------------------------------
// Compose's reading of the file

/** YAML 1.1 merge keys on (Compose uses them), duplicate keys and any parser warning are errors. */
function parseComposeYaml(text: string): Dict {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`docker-compose.yml is not clean YAML:\n${problems.join('\n')}`);
  return dict(doc.toJS({ maxAliasCount: 200 }), 'docker-compose.yml');
}

class MissingVariableError extends Error {
  constructor(
    readonly variable: string,
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: required variable ${variable} is missing a value${detail ? `: ${detail}` : ''}`);
    this.name = 'MissingVariableError';
  }
}

/**
 * Compose's interpolation: $$ → $, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
 * ${VAR:+alt}, ${VAR+alt}; defaults may nest. Anything else is an error, as in Compose.
 */
function interpolateString(text: string, env: Env, where: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch !== '$') {
      out += ch;
      i += 1;
      continue;
    }
    const next = text.charAt(i + 1);
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j += 1) {
        if (text.charAt(j) === '{') depth += 1;
        else if (text.charAt(j) === '}') depth -= 1;
      }
      if (depth !== 0) throw new Error(`${where}: unterminated \${ in ${JSON.stringify(text)}`);
      out += expand(text.slice(i + 2, j - 1), env, where);
      i = j;
    } else {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
      if (!name) throw new Error(`${where}: invalid interpolation format in ${JSON.stringify(text)}`);
      out += env[name] ?? '';
      i += 1 + name.length;
    }
  }
  return out;
}

function expand(body: string, env: Env, where: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!m) throw new Error(`${where}: invalid interpolation format \${${body}}`);
  const name = m[1] as string;
  const op = m[2];
  const arg = m[3] ?? '';
  const value = env[name];
  const isSet = value !== undefined;
  const nonEmpty = isSet && value !== '';
  switch (op) {
    case undefined:
      return value ?? '';
    case ':-':
      return nonEmpty ? value : interpolateString(arg, env, where);
    case '-':
      return isSet ? value : interpolateString(arg, env, where);
    case ':?':
      if (!nonEmpty) throw new MissingVariableError(name, where, arg);
      return value;
    case '?':
      if (!isSet) throw new MissingVariableError(name, where, arg);
      return value;
    case ':+':
      return nonEmpty ? interpolateString(arg, env, where) : '';
    case '+':
      return isSet ? interpolateString(arg, env, where) : '';
    default:
      throw new Error(`${where}: invalid interpolation operator ${op}`);
  }
}

function interpolate(value: unknown, env: Env, where = ''): unknown {
  if (typeof value === 'string') return interpolateString(value, env, where);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${where}[${i}]`));
  if (isDict(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, where ? `${where}.${k}` : k)]));
  }
  return value;
}

function loadComposeSchema(): object {
  let pkg: string;
  try {
    pkg = require.resolve('dclint/package.json');
  } catch {
    throw new Error('the compose-spec JSON schema comes from the `dclint` package: add dclint to devDependencies');
  }
  const file = path.join(path.dirname(pkg), 'schemas/compose.schema.json');
  const schema = dict(JSON.parse(fs.readFileSync(file, 'utf8')), 'schema');
  assert.equal(schema.title, 'Compose Specification', 'dclint ships the compose-spec schema');
  // A draft-07 schema; ajv's default meta-schema is draft-07 under its canonical URI, so drop the variant spelling.
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
const validateSchema = ajv.compile(loadComposeSchema());

function schemaErrors(model: unknown): string[] {
  if (validateSchema(model)) return [];
  return (validateSchema.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisers for the long and short forms Compose accepts

function services(model: Dict): Record<string, Dict> {
  const all = dict(model.services, 'services');
  return Object.fromEntries(Object.entries(all).map(([name, svc]) => [name, dict(svc, `services.${name}`)]));
}

function service(model: Dict, name: string): Dict {
  const svc = services(model)[name];
  if (!svc) throw new assert.AssertionError({ message: `no service ${name} in docker-compose.yml` });
  return svc;
}

function dependsOn(svc: Dict): Record<string, string> {
  const d = svc.depends_on;
  if (d === undefined) return {};
  if (Array.isArray(d)) return Object.fromEntries(strings(d, 'depends_on').map((n) => [n, 'service_started']));
  return Object.fromEntries(
    Object.entries(dict(d, 'depends_on')).map(([n, spec]) => {
      const where = `depends_on.${n}`;
      return [n, str(dict(spec, where).condition, `${where}.condition`)];
    }),
  );
}

function environment(svc: Dict): Record<string, string | undefined> {
  const e = svc.environment;
  if (e === undefined) return {};
  if (Array.isArray(e)) {
    return Object.fromEntries(
      strings(e, 'environment').map((kv) => {
        const at = kv.indexOf('=');
        return at < 0 ? [kv, undefined] : [kv.slice(0, at), kv.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(dict(e, 'environment')).map(([k, v]) => [k, v === null || v === undefined ? undefined : String(v)]),
  );
}

function envFiles(svc: Dict): string[] {
  const f = svc.env_file;
  if (f === undefined) return [];
  const list: unknown[] = Array.isArray(f) ? f : [f];
  return list.map((item, i) => (isDict(item) ? str(item.path, `env_file[${i}].path`) : str(item, `env_file[${i}]`)));
}

function networksOf(svc: Dict): string[] {
  const n = svc.networks;
  if (n === undefined) return ['default'];
  return Array.isArray(n) ? strings(n, 'networks') : Object.keys(dict(n, 'networks'));
}

interface Mount {
  type: 'volume' | 'bind';
  source: string;
  target: string;
}

function mounts(svc: Dict): Mount[] {
  const v = svc.volumes;
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new assert.AssertionError({ message: 'volumes must be a list' });
  return v.map((m, i): Mount => {
    if (isDict(m)) {
      return {
        type: m.type === 'bind' ? 'bind' : 'volume',
        source: str(m.source, `volumes[${i}].source`),
        target: str(m.target, `volumes[${i}].target`),
      };
    }
    const [source = '', target = ''] = str(m, `volumes[${i}]`).split(':');
    const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
    return { type: bind ? 'bind' : 'volume', source, target };
  });
}

function healthcheckTest(svc: Dict): string[] | undefined {
  const hc = svc.healthcheck;
  if (hc === undefined) return undefined;
  const h = dict(hc, 'healthcheck');
  if (h.disable === true) return undefined;
  const t = h.test;
  if (typeof t === 'string') return ['CMD-SHELL', t];
  const argv = strings(t, 'healthcheck.test');
  return argv[0] === 'NONE' ? undefined : argv;
}

/** [repository, tag] of an image reference (a registry host may carry a port); tag '' when there is none. */
function splitImage(ref: string): [string, string] {
  const noDigest = ref.split('@')[0] ?? '';
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? [noDigest.slice(0, colon), noDigest.slice(colon + 1)] : [noDigest, ''];
}

const raw = fs.readFileSync(COMPOSE_FILE, 'utf8');
const parsed = parseComposeYaml(raw);
/** The file as `docker compose config` sees it with a minimal operator .env: the file's own defaults apply. */
const model = dict(interpolate(parsed, DOTENV), 'docker-compose.yml');

// ---------------------------------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  test('is a valid Compose file under the official compose-spec schema', () => {
    assert.deepEqual(schemaErrors(model), []);
    assert.equal(model.name, 'vouch', 'a fixed project name keeps volume and network names stable');
  });

  test('the schema check catches a misspelled key and an unknown depends_on condition', () => {
    const broken = structuredClone(model);
    const worker = service(broken, 'vouch-worker');
    worker.healthchek = { test: ['CMD', 'true'] };
    dict(worker.depends_on, 'depends_on').temporal = { condition: 'service_ready' };
    const errors = schemaErrors(broken).join('\n');
    assert.match(errors, /healthchek/);
    assert.match(errors, /service_ready|allowedValues/);
  });

  test('refuses to start without POSTGRES_PASSWORD rather than falling back to a built-in password', () => {
    assert.throws(
      () => interpolate(parsed, {}),
      (err: unknown) => err instanceof MissingVariableError && err.variable === 'POSTGRES_PASSWORD',
    );
    assert.equal(environment(service(model, 'postgresql')).POSTGRES_PASSWORD, PG_PASSWORD);
    assert.equal(environment(service(model, 'temporal')).POSTGRES_PWD, PG_PASSWORD);
    assert.equal(environment(service(model, 'temporal-schema')).SQL_PASSWORD, PG_PASSWORD);
  });

  test('every dependency exists, waits on a real healthcheck or a one-shot, and there is no cycle', () => {
    const all = services(model);
    for (const [name, svc] of Object.entries(all)) {
      for (const [target, condition] of Object.entries(dependsOn(svc))) {
        const dep = all[target];
        assert.ok(dep, `${name} depends on ${target}, which is not a service`);
        assert.notEqual(target, name, `${name} depends on itself`);
        if (condition === 'service_healthy') {
          assert.ok(healthcheckTest(dep), `${name} waits for ${target} to be healthy, but ${target} has no healthcheck`);
        } else if (condition === 'service_completed_successfully') {
          assert.equal(dep.restart, 'no', `${name} waits for ${target} to complete, so ${target} must be a one-shot`);
        } else {
          assert.equal(condition, 'service_started', `${name} → ${target}: unexpected condition ${condition}`);
        }
      }
    }
    // Kahn's algorithm: every service can be ordered after its dependencies.
    const pending = new Map(Object.entries(all).map(([n, s]) => [n, new Set(Object.keys(dependsOn(s)))]));
    for (let progress = true; progress; ) {
      progress = false;
      for (const [n, deps] of pending) {
        if ([...deps].every((d) => !pending.has(d))) {
          pending.delete(n);
          progress = true;
        }
      }
    }
    assert.deepEqual([...pending.keys()], [], 'dependency cycle');

    // The start order that matters: schema before server, namespace and search attributes before vouch.
    assert.equal(dependsOn(service(model, 'temporal-schema')).postgresql, 'service_healthy');
    assert.equal(dependsOn(service(model, 'temporal'))['temporal-schema'], 'service_completed_successfully');
    assert.equal(dependsOn(service(model, 'temporal-namespace')).temporal, 'service_healthy');
    for (const name of VOUCH_SERVICES) {
      assert.deepEqual(dependsOn(service(model, name)), {
        temporal: 'service_healthy',
        'temporal-namespace': 'service_completed_successfully',
        // The intake's pollers run in the worker: start it once the worker is up.
        ...(name === 'vouch-intake' ? { 'vouch-worker': 'service_healthy' } : {}),
      });
    }
  });

  test('long-running services restart on their own and one-shots never do', () => {
    for (const [name, svc] of Object.entries(services(model))) {
      const oneShot = name === 'temporal-schema' || name === 'temporal-namespace';
      // The intake is either a one-shot (`--from lookup` ensures the pollers and exits 0) or long-running (sqs://):
      // restarted only when it fails.
      const expected = oneShot ? 'no' : name === 'vouch-intake' ? 'on-failure' : 'unless-stopped';
      assert.equal(svc.restart, expected, `${name} restart policy`);
    }
  });

  test('networks, named volumes and host paths a service uses all exist; vouch cannot reach PostgreSQL', () => {
    const declaredNetworks = new Set(Object.keys(dict(model.networks ?? {}, 'networks')));
    const declaredVolumes = new Set(Object.keys(dict(model.volumes ?? {}, 'volumes')));
    for (const [name, svc] of Object.entries(services(model))) {
      for (const net of networksOf(svc)) {
        assert.ok(net === 'default' || declaredNetworks.has(net), `${name} uses undeclared network ${net}`);
      }
      for (const m of mounts(svc)) {
        if (m.type === 'volume') {
          assert.ok(m.source === '' || declaredVolumes.has(m.source), `${name} uses undeclared volume ${m.source}`);
        } else {
          assert.ok(fs.existsSync(path.resolve(ROOT, m.source)), `${name} mounts ${m.source}, which does not exist`);
        }
      }
    }
    const db = dict(dict(model.networks, 'networks')['temporal-db'], 'networks.temporal-db');
    assert.equal(db.internal, true, 'the database network has no route out');
    assert.deepEqual(networksOf(service(model, 'postgresql')), ['temporal-db']);
    for (const name of [...VOUCH_SERVICES, 'temporal-ui', 'temporal-namespace']) {
      assert.ok(!networksOf(service(model, name)).includes('temporal-db'), `${name} must not share PostgreSQL's network`);
    }
    assert.ok(
      mounts(service(model, 'postgresql')).some((m) => m.type === 'volume' && m.target === '/var/lib/postgresql/data'),
      'PostgreSQL data lives on a named volume',
    );
  });

  test('publishes ports on loopback unless told otherwise', () => {
    for (const [name, svc] of Object.entries(services(model))) {
      const ports = svc.ports === undefined ? [] : strings(svc.ports, `${name}.ports`);
      for (const p of ports) assert.match(p, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${p}`);
    }
    assert.deepEqual(strings(service(model, 'temporal-ui').ports, 'ports'), ['127.0.0.1:8080:8080']);
    const overridden = dict(interpolate(parsed, { ...DOTENV, TEMPORAL_UI_BIND: '0.0.0.0', TEMPORAL_UI_PORT: '8088' }), 'model');
    assert.deepEqual(strings(service(overridden, 'temporal-ui').ports, 'ports'), ['0.0.0.0:8088:8080']);
  });

  test('every image is pinned to an explicit tag, with or without overrides in .env', () => {
    const pinned = (ref: string, where: string): void => {
      const [repo, tag] = splitImage(ref);
      assert.ok(repo, `${where}: empty image`);
      assert.ok(tag, `${where}: image ${ref} has no tag`);
      assert.notEqual(tag, 'latest', `${where}: image ${ref} uses :latest`);
    };
    for (const [name, svc] of Object.entries(services(model))) {
      pinned(str(svc.image, `${name}.image`), name);
    }
    const expected: Record<string, string> = {
      postgresql: 'postgres:16',
      'temporal-schema': 'temporalio/admin-tools:1.30.1',
      temporal: 'temporalio/server:1.30.1',
      'temporal-namespace': 'temporalio/admin-tools:1.30.1',
      'temporal-ui': 'temporalio/ui:2.34.0',
    };
    for (const [name, image] of Object.entries(expected)) assert.equal(service(model, name).image, image);

    // Versions come from .env when set.
    const bumped = dict(interpolate(parsed, { ...DOTENV, TEMPORAL_VERSION: '1.30.2', TEMPORAL_UI_VERSION: '2.35.0' }), 'model');
    assert.equal(service(bumped, 'temporal').image, 'temporalio/server:1.30.2');
    assert.equal(service(bumped, 'temporal-ui').image, 'temporalio/ui:2.35.0');

    // The Dockerfile's base image too: FROM node:${NODE_VERSION}-bookworm-slim with a pinned default.
    const dockerfile = fs.readFileSync(DOCKERFILE, 'utf8');
    const args = Object.fromEntries([...dockerfile.matchAll(/^ARG\s+(\w+)=(\S+)\s*$/gm)].map((m) => [m[1], m[2]]));
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => interpolateString(m[1] as string, args, 'FROM'));
    assert.ok(froms.length > 0, 'Dockerfile has a FROM line');
    for (const ref of froms) {
      pinned(ref, 'Dockerfile');
      assert.match(ref, /^node:20\.\d+\.\d+-bookworm-slim$/);
    }
  });

  test('vouch services take secrets only from env_file .env, and no secret is written in the file', () => {
    const secretNames = [...SECRET_VARS, ...OTHER_SECRETS];
    for (const required of ['SLACK_BOT_TOKEN', 'DUO_SKEY', 'PAGERDUTY_ROUTING_KEY']) {
      assert.ok(SECRET_VARS.has(required), `${required} is one of vouch's secrets`);
    }
    for (const name of VOUCH_SERVICES) {
      const svc = service(model, name);
      assert.ok(envFiles(svc).includes('.env'), `${name} reads .env`);
      const env = environment(svc);
      for (const secret of SECRET_VARS) {
        assert.ok(!(secret in env), `${name} sets ${secret} in environment; it belongs in .env only`);
      }
    }
    // Anywhere in the file, a secret-named variable may only be passed through from .env, with no default.
    for (const [name, svc] of Object.entries(services(parsed))) {
      for (const [key, value] of Object.entries(environment(svc))) {
        if (!secretNames.includes(key) && !/(TOKEN|SECRET|PASSWORD|PASSWD|SKEY|ROUTING_KEY|API_KEY)$/.test(key)) continue;
        const passThrough = /^\$\{[A-Z0-9_]+(:?\?[^}]*)?\}$/;
        assert.match(value ?? '', passThrough, `${name}.${key} must be \${VAR} or \${VAR:?…}, not a literal`);
      }
    }
    assert.doesNotMatch(raw, /xox[abpr]-[A-Za-z0-9]|xapp-\d/, 'no Slack token in the file');
    assert.doesNotMatch(raw, /\bDI[A-Z0-9]{18}\b/, 'no Duo integration key in the file');
  });

  test('vouch is built from src/deploy/Dockerfile and runs `vouch worker` and `vouch handler` as a non-root user', () => {
    for (const [name, command] of [
      ['vouch-worker', 'worker'],
      ['vouch-handler', 'handler'],
    ] as const) {
      const svc = service(model, name);
      const build = dict(svc.build, `${name}.build`);
      assert.equal(build.context, '.');
      assert.equal(build.dockerfile, 'src/deploy/Dockerfile');
      assert.deepEqual(svc.command, [command]);
      assert.match(str(svc.image, `${name}.image`), /^vouch:\d+\.\d+\.\d+$/);
      assert.equal(environment(svc).TEMPORAL_ADDRESS, 'temporal:7233');
      assert.equal(svc.init, true, `${name} runs under an init that forwards SIGTERM`);
      // The worker's drain (activities in flight get SHUTDOWN_GRACE) fits before Docker's SIGKILL.
      const grace = /^(\d+)s$/.exec(str(svc.stop_grace_period, `${name}.stop_grace_period`))?.[1];
      const drain = /^(\d+) seconds$/.exec(SHUTDOWN_GRACE)?.[1];
      assert.ok(grace && drain && Number(grace) > Number(drain), `${name}: stop_grace_period ${svc.stop_grace_period} > ${SHUTDOWN_GRACE}`);
      assert.equal(environment(svc).VOUCH_UI_BASE_URL, 'http://127.0.0.1:8080', 'review links point at the UI');
    }
    const dockerfile = fs.readFileSync(DOCKERFILE, 'utf8');
    assert.match(dockerfile, /^RUN npm ci --omit=dev\b/m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "src\/bin\/vouch\.js"\]$/m);
    assert.ok(fs.existsSync(path.join(ROOT, 'src/bin/vouch.js')));
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    const finalUser = users[users.length - 1];
    assert.ok(finalUser && !['root', '0'].includes(finalUser), 'the image runs as a non-root user');
    // Only named sources are copied, so .env and local state never reach an image layer; each source exists.
    const sources = [...dockerfile.matchAll(/^COPY\s+(?:--\S+\s+)*(.+)$/gm)].flatMap((m) =>
      (m[1] as string).trim().split(/\s+/).slice(0, -1),
    );
    assert.ok(!sources.includes('.'), 'no COPY . .');
    for (const src of sources) assert.ok(fs.existsSync(path.join(ROOT, src)), `Dockerfile copies ${src}, which does not exist`);
    const ignore = fs.readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', '.git']) assert.ok(ignore.includes(entry), `build context excludes ${entry}`);
  });

  test("the image's `npm ci --omit=dev` installs every package the worker and the handler load", () => {
    const pkg = dict(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')), 'package.json');
    const runtimeDeps = new Set(Object.keys(dict(pkg.dependencies ?? {}, 'dependencies')));
    const builtins = new Set(builtinModules);
    // Roots: the `vouch` entry point, and workflows/ (bundled by the worker at start-up, not imported statically).
    const roots = [
      path.join(ROOT, 'src/bin/vouch.js'),
      ...fs
        .readdirSync(path.join(ROOT, 'workflows'))
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(ROOT, 'workflows', f)),
    ];
    const seen = new Set<string>();
    const missing: string[] = [];
    // src/demo is not in the image (Dockerfile.dockerignore): it may be reached only by the lazy require of `vouch demo`.
    const demoDir = path.join(ROOT, 'src/demo') + path.sep;
    const demoRefs: string[] = [];
    const resolveLocal = (from: string, spec: string): string | undefined => {
      const base = path.resolve(path.dirname(from), spec);
      const candidates = [base, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts')];
      return candidates.find((p) => fs.existsSync(p) && fs.statSync(p).isFile());
    };
    const queue = [...roots];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = fs.readFileSync(file, 'utf8');
      const specs = [
        // Value imports and re-exports; `import type` and all-`type` specifier lists are erased at run time.
        ...[...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)([^'";]*?)\s*from\s*'([^']+)'/gm)]
          .filter((m) => !/^\{\s*(?:type\s+[^,}]+,?\s*)+\}$/.test((m[1] as string).trim()))
          .map((m) => m[2] as string),
        ...[...source.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1] as string),
        ...[...source.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] as string),
      ];
      for (const spec of specs) {
        if (spec.startsWith('.')) {
          const target = resolveLocal(file, spec);
          assert.ok(target, `${path.relative(ROOT, file)} imports ${spec}, which does not resolve`);
          if (target.startsWith(demoDir)) demoRefs.push(`${path.relative(ROOT, file)} → ${spec}`);
          else queue.push(target);
          continue;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string);
        if (spec.startsWith('node:') || builtins.has(name)) continue;
        if (!runtimeDeps.has(name)) missing.push(`${path.relative(ROOT, file)} → ${name}`);
      }
    }
    assert.ok(seen.has(path.join(ROOT, 'src/cli/index.ts')), 'the walk reached src/cli/index.ts');
    assert.deepEqual(demoRefs, ['src/cli/demo.ts → ../demo/command'], 'only `vouch demo` loads src/demo');
    const demoCommand = fs.readFileSync(path.join(ROOT, 'src/cli/demo.ts'), 'utf8');
    assert.doesNotMatch(demoCommand, /^import\s+(?!type\b)[^;]*'\.\.\/demo\//m, 'src/cli/demo.ts loads src/demo lazily, never at import time');
    const ignore = fs.readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8').split('\n').map((l) => l.trim());
    assert.ok(ignore.includes('src/demo'), 'the build context leaves src/demo out');
    assert.deepEqual(missing, [], 'packages loaded at run time must be in "dependencies", not devDependencies');
  });

  test('Temporal keeps persistence and visibility on PostgreSQL and loads the mounted dynamic config', () => {
    const server = service(model, 'temporal');
    const env = environment(server);
    assert.equal(env.DB, 'postgres12');
    assert.equal(env.POSTGRES_SEEDS, 'postgresql');
    assert.equal(env.DBNAME, 'temporal');
    assert.equal(env.VISIBILITY_DBNAME, 'temporal_visibility');
    assert.ok(!('ENABLE_ES' in env), 'no Elasticsearch: SQL visibility on PostgreSQL 12+');
    assert.equal(env.BIND_ON_IP, '0.0.0.0', 'the frontend must listen where the healthcheck and other containers dial');
    const schemaEnv = environment(service(model, 'temporal-schema'));
    assert.deepEqual([schemaEnv.TEMPORAL_DBNAME, schemaEnv.VISIBILITY_DBNAME], [env.DBNAME, env.VISIBILITY_DBNAME]);
    assert.equal(schemaEnv.SCHEMA_DIR, '/etc/temporal/schema/postgresql/v12');
    assert.equal(schemaEnv.SQL_PLUGIN, env.DB);

    const configPath = str(env.DYNAMIC_CONFIG_FILE_PATH, 'DYNAMIC_CONFIG_FILE_PATH');
    const mount = mounts(server).find((m) => m.type === 'bind' && configPath.startsWith(`${m.target}/`));
    assert.ok(mount, `${configPath} is inside a mounted directory`);
    const hostFile = path.join(ROOT, mount.source, configPath.slice(mount.target.length + 1));
    const doc = parseDocument(fs.readFileSync(hostFile, 'utf8'), { uniqueKeys: true });
    assert.deepEqual(doc.errors, []);
    for (const [key, entries] of Object.entries(dict(doc.toJS(), 'dynamic config'))) {
      assert.ok(Array.isArray(entries) && entries.length > 0, `${key}: a list of { value, constraints }`);
      for (const e of entries) assert.ok(isDict(e) && 'value' in e, `${key}: every entry has a value`);
    }
  });

  test('the namespace one-shot registers exactly the search attributes in workflows/search-attributes.ts', () => {
    const env = environment(service(model, 'temporal-namespace'));
    const pairs = str(env.VOUCH_SEARCH_ATTRIBUTES, 'VOUCH_SEARCH_ATTRIBUTES').split(/\s+/).filter(Boolean);
    assert.deepEqual(
      pairs.map((p) => p.split('=')[0]),
      ALL_SEARCH_ATTRIBUTES.map((k) => k.name),
    );
    // Same Name=Type spelling the dev server gets, so both kinds of server index the same types.
    const devPairs = devServerSearchAttributeArgs().filter((_, i) => i % 2 === 1);
    assert.deepEqual(pairs, devPairs);
    assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(env.TEMPORAL_NAMESPACE, 'default');
    for (const name of VOUCH_SERVICES) {
      const ns = environment(service(model, name)).TEMPORAL_NAMESPACE;
      assert.equal(ns, env.TEMPORAL_NAMESPACE, `${name} uses the namespace set up`);
    }
    const custom = dict(interpolate(parsed, { ...DOTENV, TEMPORAL_NAMESPACE: 'security' }), 'model');
    for (const name of ['temporal-namespace', 'temporal-ui', ...VOUCH_SERVICES]) {
      const e = environment(service(custom, name));
      assert.equal(e.TEMPORAL_NAMESPACE ?? e.TEMPORAL_DEFAULT_NAMESPACE, 'security', `${name} follows TEMPORAL_NAMESPACE`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('vouch-handler healthcheck', () => {
  let server: http.Server;
  let port = 0;
  const seen: string[] = [];
  let status = 200;

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(req.url === '/healthz' ? status : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status === 200 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const probe = (env: NodeJS.ProcessEnv): Promise<{ code: number }> => {
    const argv = healthcheckTest(service(model, 'vouch-handler'));
    assert.ok(argv, 'vouch-handler has a healthcheck');
    assert.equal(argv[0], 'CMD', 'exec form: no shell needed in the image');
    assert.equal(argv[1], 'node');
    return run(process.execPath, argv.slice(2), env, 15_000);
  };

  test('passes when GET /healthz on VOUCH_HANDLER_PORT answers 200', async () => {
    status = 200;
    seen.length = 0;
    assert.equal((await probe({ ...process.env, VOUCH_HANDLER_PORT: String(port) })).code, 0);
    assert.deepEqual(seen, ['GET /healthz']);
  });

  test('fails when /healthz answers 503 or nothing listens', async () => {
    status = 503;
    assert.equal((await probe({ ...process.env, VOUCH_HANDLER_PORT: String(port) })).code, 1);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal((await probe({ ...process.env, VOUCH_HANDLER_PORT: String(deadPort) })).code, 1);
  });

  test('probes the port the handler is configured with and publishes', () => {
    const svc = service(model, 'vouch-handler');
    const configured = environment(svc).VOUCH_HANDLER_PORT;
    assert.equal(configured, '3000');
    assert.deepEqual(strings(svc.ports, 'ports'), [`127.0.0.1:${configured}:${configured}`]);
    const moved = dict(interpolate(parsed, { ...DOTENV, VOUCH_HANDLER_PORT: '3100' }), 'model');
    const movedSvc = service(moved, 'vouch-handler');
    assert.equal(environment(movedSvc).VOUCH_HANDLER_PORT, '3100');
    assert.deepEqual(strings(movedSvc.ports, 'ports'), ['127.0.0.1:3100:3100']);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('src/deploy/temporal-setup.sh', () => {
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-compose-'));
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The one-shot's environment exactly as Compose would pass it, plus test overrides. */
  function oneShotEnv(name: string, overrides: Record<string, string>, pathPrefix: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { PATH: `${pathPrefix}${path.delimiter}${process.env.PATH ?? ''}`, HOME: tmp };
    for (const [k, v] of Object.entries(environment(service(model, name)))) if (v !== undefined) env[k] = v;
    return { ...env, ...overrides };
  }

  function fakeTool(dir: string, name: string, body: string): void {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }

  test('schema step creates and migrates both databases with the schema shipped in admin-tools', async () => {
    const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
    const calls = path.join(bin, 'calls.log');
    fakeTool(bin, 'nc', `echo "nc $*" >> "${calls}"`);
    // Records the argv and whether the password came through the environment.
    fakeTool(bin, 'temporal-sql-tool', `echo "sql $* [pw=\${SQL_PASSWORD:-unset}]" >> "${calls}"`);
    const entry = service(model, 'temporal-schema');
    assert.deepEqual(entry.entrypoint, ['/bin/sh', '/opt/vouch/temporal-setup.sh']);
    const args = strings(entry.command, 'command');
    const r = await run('sh', [SETUP_SCRIPT, ...args], oneShotEnv('temporal-schema', {}, bin));
    assert.equal(r.code, 0, r.stderr);
    const base = '--plugin postgres12 --ep postgresql -p 5432 -u temporal';
    const pw = `[pw=${PG_PASSWORD}]`;
    assert.deepEqual(fs.readFileSync(calls, 'utf8').trim().split('\n'), [
      'nc -z -w 5 postgresql 5432',
      `sql ${base} --db temporal create ${pw}`,
      `sql ${base} --db temporal setup-schema -v 0.0 ${pw}`,
      `sql ${base} --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned ${pw}`,
      `sql ${base} --db temporal_visibility create ${pw}`,
      `sql ${base} --db temporal_visibility setup-schema -v 0.0 ${pw}`,
      `sql ${base} --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned ${pw}`,
    ]);
    assert.doesNotMatch(r.stderr, new RegExp(PG_PASSWORD), 'the password is never logged');
  });

  test('schema step fails, so the server never starts, when a migration fails', async () => {
    const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
    fakeTool(bin, 'nc', 'exit 0');
    fakeTool(bin, 'temporal-sql-tool', 'case "$*" in *update-schema*) echo "migration failed" >&2; exit 1;; esac');
    const r = await run('sh', [SETUP_SCRIPT, 'schema'], oneShotEnv('temporal-schema', {}, bin));
    assert.notEqual(r.code, 0);
  });

  describe('namespace step against the Temporal dev server', () => {
    let env: TestWorkflowEnvironment;
    let cliDir: string;
    const namespace = `vouch-compose-${process.pid}`;

    before(async () => {
      const cli = resolveTemporalCli({ install: true });
      if (!cli) throw new Error('no Temporal CLI found or installable (see src/demo/tools/resolve.ts)');
      cliDir = path.dirname(cli);
      // The setup script calls `temporal` by name, as in the admin-tools image.
      if (path.basename(cli) !== 'temporal') {
        cliDir = fs.mkdtempSync(path.join(tmp, 'cli-'));
        fs.symlinkSync(cli, path.join(cliDir, 'temporal'));
      }
      env = await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: cli }, extraArgs: ['--sqlite-pragma', 'journal_mode=WAL'] },
      });
    });

    after(async () => {
      await env?.teardown();
    });

    const setup = (overrides: Record<string, string> = {}): Promise<{ code: number; stderr: string }> => {
      const args = strings(service(model, 'temporal-namespace').command, 'command');
      return run(
        'sh',
        [SETUP_SCRIPT, ...args],
        oneShotEnv(
          'temporal-namespace',
          { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: namespace, ...overrides },
          cliDir,
        ),
        120_000,
      );
    };

    test('creates the namespace and registers every search attribute with its type; a rerun changes nothing', async () => {
      const first = await setup();
      assert.equal(first.code, 0, first.stderr);
      const described = await env.connection.workflowService.describeNamespace({ namespace });
      assert.equal(described.namespaceInfo?.name, namespace);
      assert.equal(String(described.config?.workflowExecutionRetentionTtl?.seconds), String(720 * 3600));

      const expected = Object.fromEntries(
        ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, `INDEXED_VALUE_TYPE_${k.type}`]),
      );
      const listed = async (): Promise<Record<string, string>> => {
        const res = await env.connection.operatorService.listSearchAttributes({ namespace });
        return Object.fromEntries(
          Object.entries(res.customAttributes ?? {})
            .filter(([name]) => name.startsWith('Vouch'))
            .map(([name, t]) => [name, temporal.api.enums.v1.IndexedValueType[t] ?? String(t)]),
        );
      };
      assert.deepEqual(await listed(), expected);

      const second = await setup();
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, new RegExp(`namespace ${namespace} exists`));
      assert.deepEqual(await listed(), expected);
    });

    test('rejects a malformed attribute list before touching the server', async () => {
      const other = `${namespace}-typo`;
      const r = await setup({ TEMPORAL_NAMESPACE: other, VOUCH_SEARCH_ATTRIBUTES: 'VouchTier=Keyword VouchScore=Integer' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /VouchScore=Integer/);
      await assert.rejects(env.connection.workflowService.describeNamespace({ namespace: other }));
    });
  });
});
