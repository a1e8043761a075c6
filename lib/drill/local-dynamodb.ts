/**
 * A real DynamoDB implementation in-process (dynalite, in memory), with the controller's table created
 * from the synthesized template, so the store code runs against the same keys and indexes as deployed.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { SynthesizedController } from '../runner/synth';

export interface LocalDynamoDB {
  endpoint: string;
  client(): DynamoDBClient;
  createTable(name: string, table: SynthesizedController['table']): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalDynamoDB(): Promise<LocalDynamoDB> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = () =>
    new DynamoDBClient({ endpoint, region: 'us-west-2', credentials: { accessKeyId: 'drill', secretAccessKey: 'drill' }, maxAttempts: 1 });
  return {
    endpoint,
    client,
    async createTable(name, table) {
      await client().send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: table.KeySchema,
          AttributeDefinitions: table.AttributeDefinitions,
          GlobalSecondaryIndexes: table.GlobalSecondaryIndexes?.map((gsi) => ({ ...gsi, Projection: gsi.Projection ?? { ProjectionType: 'ALL' } })),
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
