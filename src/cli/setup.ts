// `vouch setup`: register vouch's search attributes on a Temporal server (idempotent). The dev server gets them
// with --search-attribute flags instead (see src/demo/dev-server.ts).
import { Command } from 'commander';
import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { connectClientFromEnv } from './temporal-client';
import { getLogger } from './log';
import { act } from './program';

const TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  TEXT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
};

export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  let have = new Set<string>();
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    have = new Set(Object.keys(existing.customAttributes ?? {}));
  } catch (err) {
    // sdk-java's time-skipping test server implements AddSearchAttributes but not ListSearchAttributes.
    if ((err as { code?: number }).code !== 12 /* UNIMPLEMENTED */) throw err;
  }
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, TYPE[k.type] as temporal.api.enums.v1.IndexedValueType])),
    });
  }
  return missing.map((k) => k.name);
}

export function setupCommand(): Command {
  return act(new Command('setup').description("register vouch's search attributes on the Temporal server (idempotent)"), async () => {
    const { client, connection } = await connectClientFromEnv();
    try {
      const added = await registerSearchAttributes(connection, client.options.namespace);
      getLogger().info({ namespace: client.options.namespace, added }, 'search attributes ready');
    } finally {
      await connection.close();
    }
    return 0;
  });
}
