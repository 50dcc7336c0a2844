// Network rules for the policy language: port lists (`portsInclude`). Security-group rules themselves come from
// src/core/security-group-rules.ts (the `permissions` root), CIDR prefix lengths too.
import type { Problem } from './paths';

type PortSpec = { from: number; to: number } | 'all';

export function compilePorts(arg: unknown, at: (string | number)[], problems: Problem[]): PortSpec[] | null {
  const list = Array.isArray(arg) ? arg : [arg];
  const out: PortSpec[] = [];
  for (const [i, p] of list.entries()) {
    if (p === 'all') out.push('all');
    else if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) out.push({ from: p, to: p });
    else if (typeof p === 'string' && /^\d{1,5}-\d{1,5}$/.test(p)) {
      const [a, b] = p.split('-').map(Number) as [number, number];
      if (a > b || b > 65535) problems.push({ path: [...at, i], message: `port range "${p}" is not low-high within 0-65535` });
      out.push({ from: a, to: b });
    } else problems.push({ path: [...at, i], message: `must be a port (0-65535), a range "low-high" or "all", got ${JSON.stringify(p)}` });
  }
  return out;
}
