// The maximum age of a record intake reviews must be shorter than the Temporal namespace's retention. A review's
// workflow id (account + eventID) is what makes a replayed record find its first review instead of starting a second
// one; that only holds while the first review is still kept. Records older than the maximum age are never reviewed,
// so every record young enough to review still has its earlier review (if any) on the server.

/** The part of Temporal's WorkflowService this check needs (a Client's or a NativeConnection's). */
export interface NamespaceDescriber {
  describeNamespace(req: { namespace: string }): Promise<{
    config?: { workflowExecutionRetentionTtl?: { seconds?: unknown; nanos?: unknown } | null } | null;
  }>;
}

/** The namespace's workflow execution retention in seconds (describeNamespace), or undefined when it has none. */
export async function namespaceRetentionSeconds(service: NamespaceDescriber, namespace: string): Promise<number | undefined> {
  const res = await service.describeNamespace({ namespace });
  const ttl = res.config?.workflowExecutionRetentionTtl;
  const seconds = Number(ttl?.seconds?.toString() ?? NaN);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * Why `maxAgeSeconds` is not acceptable for `namespace`, or undefined when it is shorter than the retention (or the
 * namespace keeps closed workflows for ever).
 */
export async function maxAgeProblem(service: NamespaceDescriber, namespace: string, maxAgeSeconds: number): Promise<string | undefined> {
  const retention = await namespaceRetentionSeconds(service, namespace);
  if (retention === undefined || maxAgeSeconds < retention) return undefined;
  return (
    `VOUCH_INTAKE_MAX_AGE_SECONDS (${maxAgeSeconds} s) must be shorter than the retention of namespace ${namespace} ` +
    `(${retention} s): a replayed record older than the retention would start its review again once the first one is ` +
    'deleted. Lower VOUCH_INTAKE_MAX_AGE_SECONDS or raise the retention (temporal operator namespace update --retention)'
  );
}
