/** A real DynamoDB (dynalite) with the controller's table, fresh per call, for tests of store users. */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startLocalDynamoDB, type LocalDynamoDB } from '../../lib/drill/local-dynamodb';
import { Store, TABLE_KEYS } from '../../lambdas/core/store';

export const TABLE_DEFINITION = {
  KeySchema: [
    { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
    { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
    { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
    { AttributeName: TABLE_KEYS.historyIndex.partitionKey, AttributeType: 'S' },
    { AttributeName: TABLE_KEYS.historyIndex.sortKey, AttributeType: 'S' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: TABLE_KEYS.historyIndex.name,
      KeySchema: [
        { AttributeName: TABLE_KEYS.historyIndex.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.historyIndex.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
};

let tables = 0;

export async function newTestStore(dynamo: LocalDynamoDB): Promise<Store> {
  const name = `test-${process.pid}-${++tables}`;
  await dynamo.createTable(name, TABLE_DEFINITION);
  return new Store(dynamo.client(), name);
}

/**
 * For the tests of one file: dynalite started once (closed after the file) and a fresh table per test,
 * so no state leaks between tests. Registers the hooks; `onEach` gets each test's store and the dynalite.
 */
export function useTestStore(onEach: (store: Store, dynamo: LocalDynamoDB) => void): void {
  let dynamo: LocalDynamoDB;
  beforeAll(async () => {
    dynamo = await startLocalDynamoDB();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    onEach(await newTestStore(dynamo), dynamo);
  });
}

export { startLocalDynamoDB };
