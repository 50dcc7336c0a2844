// The policy analyses behind the policy operators, cached per document: CloudTrail repeats the same few documents
// (a Terraform apply writes the same bucket policy to every environment), and an analysis expands wildcards against
// some 22,000 actions.
import { serviceOfSource } from '../../core/iam-action-names';
import { iamCatalogue } from '../iam-catalogue';
import { capabilities, type Capabilities } from './identity-policy';
import { resourceExposure, type Exposure } from './resource-policy';
import { analysisStatements, documentKey } from './statements';

export { actionList } from './resource-policy';
export type { Capabilities } from './identity-policy';
export type { Exposure } from './resource-policy';

const MAX_CACHED = 2_000;
const exposures = new Map<string, Exposure | null>();
const capabilityCache = new Map<string, Capabilities | null>();

function remember<T>(cache: Map<string, T>, key: string, compute: () => T): T {
  if (cache.has(key)) return cache.get(key) as T;
  const value = compute();
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(key, value);
  return value;
}

/** The IAM services a resource policy arriving through this eventSource can grant (a trust policy grants sts:). */
export function servicesOfResource(eventSource: string): string[] {
  const service = serviceOfSource(eventSource);
  return service === 'iam' ? ['sts'] : [service];
}

/** Who a resource policy lets in; null when the value is not a policy document. */
export function exposureOf(doc: unknown, ctx: { account: string; trusted: ReadonlySet<string>; eventSource: string }): Exposure | null {
  const text = documentKey(doc);
  if (text === null) return null;
  const services = servicesOfResource(ctx.eventSource);
  const key = `${ctx.account}|${[...ctx.trusted].sort().join(',')}|${services.join(',')}|${text}`;
  return remember(exposures, key, () => {
    const statements = analysisStatements(doc);
    return statements ? resourceExposure(statements, { account: ctx.account, trusted: ctx.trusted, services }, iamCatalogue()) : null;
  });
}

/** What an identity policy grants; null when the value is not a policy document. */
export function capabilitiesOf(doc: unknown): Capabilities | null {
  const text = documentKey(doc);
  if (text === null) return null;
  return remember(capabilityCache, text, () => {
    const statements = analysisStatements(doc);
    return statements ? capabilities(statements, iamCatalogue()) : null;
  });
}
