// What docker-compose.yml hands its Temporal one-shots and services, read from the file itself so that the
// production-topology harness runs the same steps with the same variables (only addresses, ports, the password and
// the schema folder differ: they are loopback and temporary here).
import path from 'node:path';
import { composeService, readCompose } from '../../src/demo/tools/production-tools';
import { PROJECT_ROOT } from '../../src/demo/tools/resolve';

/** `${VAR:-default}` → default; `${VAR}` → ''. `${VAR:?message}` is an error unless the caller overrides the key. */
function interpolateDefaults(value: string, where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
    if (op === ':-' || op === '-') return arg ?? '';
    if (op === ':?' || op === '?') throw new Error(`${where}: ${name} is required by docker-compose.yml (${arg ?? ''}) and was not given`);
    return '';
  });
}

/**
 * A compose service's `environment`, with defaults applied and `overrides` put in. Every override must name a
 * variable compose sets for that service: a renamed variable in docker-compose.yml fails here, not silently.
 */
export function composeEnvironment(service: string, overrides: Record<string, string> = {}): Record<string, string> {
  const block = composeService(readCompose(), service).environment;
  if (!block || typeof block !== 'object' || Array.isArray(block)) {
    throw new Error(`docker-compose.yml: service ${service} has no environment mapping`);
  }
  const raw = block as Record<string, unknown>;
  for (const key of Object.keys(overrides)) {
    if (!(key in raw)) throw new Error(`docker-compose.yml: service ${service} does not set ${key} (renamed?)`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    out[key] = key in overrides ? (overrides[key] as string) : interpolateDefaults(String(value ?? ''), `${service}.environment.${key}`);
  }
  return out;
}

/** The services' one-shot command (`['schema']`, `['namespace']`) as compose runs it. */
export function composeCommand(service: string): string[] {
  const command = composeService(readCompose(), service).command;
  if (!Array.isArray(command)) throw new Error(`docker-compose.yml: service ${service} has no command list`);
  return command.map(String);
}

/** The repository file a service sees at `containerPath` through one of its bind mounts (`./host:/container[:ro]`). */
export function composeHostPath(service: string, containerPath: string): string {
  const volumes = composeService(readCompose(), service).volumes;
  for (const v of Array.isArray(volumes) ? volumes : []) {
    if (typeof v !== 'string') continue;
    const [host, container] = v.split(':');
    if (!host?.startsWith('./') || !container) continue;
    if (containerPath === container || containerPath.startsWith(`${container}/`)) {
      return path.join(PROJECT_ROOT, host, containerPath.slice(container.length));
    }
  }
  throw new Error(`docker-compose.yml: service ${service} mounts nothing from the repository at ${containerPath}`);
}

/** The script a one-shot service runs (`entrypoint: ['/bin/sh', SCRIPT]`), as a repository path. */
export function composeScript(service: string): string {
  const entrypoint = composeService(readCompose(), service).entrypoint;
  if (!Array.isArray(entrypoint) || entrypoint[0] !== '/bin/sh' || typeof entrypoint[1] !== 'string') {
    throw new Error(`docker-compose.yml: service ${service}'s entrypoint is not ['/bin/sh', SCRIPT]`);
  }
  return composeHostPath(service, entrypoint[1]);
}
