/**
 * The controller's state in one DynamoDB table, behind one module: the only place that knows the keys.
 *
 *   pk = GROUP#<group>  sk = LOCK                       the failover lock (conditional writes, with expiry)
 *   pk = GROUP#<group>  sk = STATE                      ARMED | PAUSED | FAILED_OVER, who is primary now
 *   pk = GROUP#<group>  sk = PROBE                      detection counters (written when they change)
 *   pk = PROBES         sk = SHARD#<i>                  a probe shard's heartbeat: the groups that passed its last round
 *   pk = GROUP#<group>  sk = READINESS                  the scheduled readiness evaluation's last result
 *   pk = GROUP#<group>  sk = EXEC#<startedAt>#<name>    one history item per execution
 *   gsi1pk = HISTORY    gsi1sk = <startedAt>#<group>    every group's history, newest first
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { StoreUnavailable, stepErrorFrom } from './errors';
import type { HistoryItem } from './history';
import type { ProbeHeartbeat } from './probe-shards';

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  historyIndex: { name: 'history-by-time', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  /** DynamoDB TTL removes expired locks eventually; the condition on expiresAt is what counts. */
  ttlAttribute: 'ttl',
} as const;

export type GroupStatus = 'ARMED' | 'PAUSED' | 'FAILED_OVER';

export interface LockItem {
  group: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

export interface GroupState {
  group: string;
  status: GroupStatus;
  /** Who serves as primary now, after a failover: the promoted DB instance. */
  primary?: { kind: 'ec2' | 'rds'; id: string; endpointAddress?: string };
  reason?: string;
  lastFailover?: { executionArn: string; at: string; outcome: string; rtoSeconds: number | null };
  updatedAt: string;
}

/** What detection keeps between rounds and invocations. */
export interface ProbeState {
  group: string;
  consecutiveFailures: number;
  /** Epoch ms of the first failed round of the current outage; null while healthy. */
  outageStartedAt: number | null;
  lastSuccessAt: number | null;
  /** Epoch ms of the last round counted: a round at or before it is stale and not counted again. */
  lastRoundAt: number | null;
  /** The probe settings the last passed round was probed with (detect.ts, probesKey). */
  passedWith?: string;
  lastRound?: { failed: boolean; reason: string };
  /** The outage (by its start) for which an execution was started, or which was reported while the group could not fail over. */
  handledOutage?: number;
  handledAs?: string;
  /**
   * A round after lastRoundAt that counted neither way (void, delivered late, the store failed), written
   * only while a run of failures is open: it keeps the run going for whichever execution environment
   * counts the next round (detect.ts, advanceCounters).
   */
  bridgedAt?: number;
  /** The mass-failure hold only: the probe shard that opened it, the one that may end it, of how many. */
  openedBy?: number;
  openedOf?: number;
}

/** The last readiness evaluation of a group (lambdas/readiness), as the scheduled function stored it. */
export interface ReadinessItem {
  group: string;
  ready: boolean;
  checkedAt: string;
  problems: Array<{ check: string; resource: string; reason: string }>;
  /** When ready/not-ready last changed. */
  since: string;
}

const groupKey = (group: string) => `GROUP#${group}`;

export class Store {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * Take the group's lock for `holder`. Succeeds when the lock is free, expired, or already ours (a
   * retried step); otherwise returns the live holder.
   */
  async acquireLock(
    group: string,
    holder: string,
    nowMs: number,
    ttlSeconds: number,
  ): Promise<{ acquired: boolean; lock: LockItem; tookOverFrom?: LockItem }> {
    const result = await this.putLock(group, holder, nowMs, ttlSeconds, 'attribute_not_exists(pk) OR expiresAt < :now OR holder = :me', { ':now': nowMs, ':me': holder });
    const old = result.old;
    // An expired lock of another execution: its holder died (or timed out) without releasing it.
    const tookOverFrom = result.acquired && old && old.holder !== holder ? { group, holder: old.holder, acquiredAt: old.acquiredAt, expiresAt: old.expiresAt } : undefined;
    return { acquired: result.acquired, lock: result.lock, ...(tookOverFrom ? { tookOverFrom } : {}) };
  }

  /**
   * Replace exactly the lock `from` (same holder, same expiry) with one held by `holder`: the takeover
   * of a lock no execution of this controller could hold (see acquire-lock.ts). False when the lock
   * changed meanwhile.
   */
  async takeOverLock(group: string, holder: string, nowMs: number, ttlSeconds: number, from: LockItem): Promise<{ acquired: boolean; lock: LockItem }> {
    const { acquired, lock } = await this.putLock(group, holder, nowMs, ttlSeconds, 'holder = :old AND expiresAt = :oldExpiry', { ':old': from.holder, ':oldExpiry': from.expiresAt });
    return { acquired, lock };
  }

  /**
   * Write `holder`'s lock if `condition` holds. When it does not, the lock as it stands is returned
   * (released between our write and our read: the holder we lost to is reported as unknown rather
   * than retried here).
   */
  private async putLock(
    group: string,
    holder: string,
    nowMs: number,
    ttlSeconds: number,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<{ acquired: boolean; lock: LockItem; old?: Record<string, any> }> {
    const lock: LockItem = { group, holder, acquiredAt: nowMs, expiresAt: nowMs + ttlSeconds * 1000 };
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: groupKey(group), sk: 'LOCK', ...lock, ttl: Math.ceil(lock.expiresAt / 1000) + 3600 },
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { acquired: true, lock, old: out.Attributes };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw stepErrorFrom(err, 'DynamoDB PutItem (lock)', StoreUnavailable);
    }
    const current = await this.getLock(group);
    return { acquired: false, lock: current ?? { group, holder: 'unknown', acquiredAt: nowMs, expiresAt: nowMs } };
  }

  /** Release the lock if `holder` holds it. Returns false when it was not (already released or taken over). */
  async releaseLock(group: string, holder: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: groupKey(group), sk: 'LOCK' },
          ConditionExpression: 'holder = :me',
          ExpressionAttributeValues: { ':me': holder },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw stepErrorFrom(err, 'DynamoDB DeleteItem (lock)', StoreUnavailable);
    }
  }

  async getLock(group: string): Promise<LockItem | undefined> {
    const item = await this.get(groupKey(group), 'LOCK');
    return item && { group, holder: item.holder, acquiredAt: item.acquiredAt, expiresAt: item.expiresAt };
  }

  async getGroupState(group: string): Promise<GroupState | undefined> {
    const item = await this.get(groupKey(group), 'STATE');
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...state } = item;
    return state as GroupState;
  }

  async putGroupState(state: GroupState): Promise<void> {
    await this.send('DynamoDB PutItem (group state)', new PutCommand({
      TableName: this.tableName,
      Item: { pk: groupKey(state.group), sk: 'STATE', ...state },
    }));
  }

  async getProbeState(group: string): Promise<ProbeState | undefined> {
    const item = await this.get(groupKey(group), 'PROBE');
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...state } = item;
    return state as ProbeState;
  }

  /**
   * Store a round's counters, only if nobody counted another round since `previousRoundAt` (the value
   * this update was computed from). Returns false when it lost that race: the round is not counted twice.
   */
  async putProbeState(state: ProbeState, previousRoundAt: number | null, previousBridgedAt?: number): Promise<boolean> {
    // A bridge another environment stored since (bridgedAt) changes the count as much as a round does.
    const bridged = previousBridgedAt === undefined ? { c: 'attribute_not_exists(bridgedAt)', v: {} } : { c: 'bridgedAt = :bridged', v: { ':bridged': previousBridgedAt } };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: groupKey(state.group), sk: 'PROBE', ...state },
          ...(previousRoundAt === null
            ? { ConditionExpression: `(attribute_not_exists(lastRoundAt) OR attribute_type(lastRoundAt, :null)) AND ${bridged.c}`, ExpressionAttributeValues: { ':null': 'NULL', ...bridged.v } }
            : { ConditionExpression: `lastRoundAt = :prev AND ${bridged.c}`, ExpressionAttributeValues: { ':prev': previousRoundAt, ...bridged.v } }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw stepErrorFrom(err, 'DynamoDB PutItem (probe state)', StoreUnavailable);
    }
  }

  async getProbeHeartbeat(shard: number): Promise<ProbeHeartbeat | undefined> {
    const item = await this.get('PROBES', `SHARD#${shard}`);
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...heartbeat } = item;
    return heartbeat as ProbeHeartbeat;
  }

  /** Every shard's heartbeat (one Query: a few items). */
  async listProbeHeartbeats(): Promise<ProbeHeartbeat[]> {
    const out = await this.send('DynamoDB Query (probe heartbeats)', new QueryCommand({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :shard)',
      ExpressionAttributeValues: { ':pk': 'PROBES', ':shard': 'SHARD#' },
      ConsistentRead: true,
    }));
    return (out.Items ?? []).map(({ pk: _pk, sk: _sk, ...heartbeat }) => heartbeat as ProbeHeartbeat);
  }

  /**
   * The shard's heartbeat, if the stored one is still the one `read` (its `version`; undefined when
   * there was none, or one written before versions): false when another execution environment wrote in
   * between, so that its times are merged rather than overwritten.
   */
  async putProbeHeartbeat(heartbeat: Omit<ProbeHeartbeat, 'version'>, read: ProbeHeartbeat | undefined): Promise<boolean> {
    const version = read?.version;
    try {
      await this.doc.send(new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'PROBES', sk: `SHARD#${heartbeat.shard}`, ...heartbeat, version: (version ?? 0) + 1 },
        ...(version === undefined
          ? { ConditionExpression: 'attribute_not_exists(#version)', ExpressionAttributeNames: { '#version': 'version' } }
          : { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':version': version } }),
      }));
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw stepErrorFrom(err, 'DynamoDB PutItem (probe heartbeat)', StoreUnavailable);
    }
  }

  async getReadiness(group: string): Promise<ReadinessItem | undefined> {
    const item = await this.get(groupKey(group), 'READINESS');
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = item;
    return rest as ReadinessItem;
  }

  /**
   * Store a readiness result, only if nobody stored another since `previousCheckedAt` (the result this
   * one was compared with). Returns false when it lost that race, so a change is notified once.
   */
  async putReadiness(item: ReadinessItem, previousCheckedAt: string | null): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: groupKey(item.group), sk: 'READINESS', ...item },
          ...(previousCheckedAt === null
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'checkedAt = :prev', ExpressionAttributeValues: { ':prev': previousCheckedAt } }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw stepErrorFrom(err, 'DynamoDB PutItem (readiness)', StoreUnavailable);
    }
  }

  /** Write an execution's history item. The key is derived from the execution, so a retry overwrites, never duplicates. */
  async putHistory(item: HistoryItem): Promise<{ replaced: boolean }> {
    const out = await this.send('DynamoDB PutItem (history)', new PutCommand({
      TableName: this.tableName,
      Item: {
        pk: groupKey(item.group),
        sk: `EXEC#${item.startedAt}#${item.executionName}`,
        gsi1pk: 'HISTORY',
        gsi1sk: `${item.startedAt}#${item.group}#${item.executionName}`,
        ...item,
      },
      // Whether an earlier attempt of the same step already wrote it.
      ReturnValues: 'ALL_OLD',
    }));
    return { replaced: out.Attributes !== undefined };
  }

  /** History items, newest first: one group's, or every group's. */
  async listHistory(options: { group?: string; limit?: number } = {}): Promise<HistoryItem[]> {
    const limit = options.limit ?? 20;
    const query = options.group
      ? new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :exec)',
          ExpressionAttributeValues: { ':pk': groupKey(options.group), ':exec': 'EXEC#' },
          ScanIndexForward: false,
          Limit: limit,
        })
      : new QueryCommand({
          TableName: this.tableName,
          IndexName: TABLE_KEYS.historyIndex.name,
          KeyConditionExpression: 'gsi1pk = :h',
          ExpressionAttributeValues: { ':h': 'HISTORY' },
          ScanIndexForward: false,
          Limit: limit,
        });
    const out = await this.send('DynamoDB Query (history)', query);
    return (out.Items ?? []).map(({ pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...item }) => item as HistoryItem);
  }

  private async get(pk: string, sk: string): Promise<Record<string, any> | undefined> {
    const out = await this.send('DynamoDB GetItem', new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }));
    return out.Item;
  }

  /** Send a document-client command; SDK errors become the step's named errors. */
  private async send(
    what: string,
    command: PutCommand | GetCommand | QueryCommand,
  ): Promise<{ Item?: Record<string, any>; Items?: Record<string, any>[]; Attributes?: Record<string, any> }> {
    try {
      // The document client's overloads do not accept a union; each member is a valid command.
      return await this.doc.send(command as GetCommand);
    } catch (err) {
      throw stepErrorFrom(err, what, StoreUnavailable);
    }
  }
}

