/**
 * The group's database clients: application servers, workers and cron hosts that write continuously
 * through the group's DNS name, as real ones do. This is what lets the drill judge "never two writers"
 * on data: which writes each database accepted, and when.
 *
 * A client resolves the name when it connects and keeps the answer for the record's TTL (the TTL in
 * force when it resolved, which is what bounds how long clients see the old answer after a flip). It
 * keeps its connection open (a pool) and writes through it until the database drops it (a reboot, a
 * failure, a promotion's reboot) or refuses a write; then it reconnects, resolving again if its cached
 * answer has expired. Security groups are checked only when a connection is made: established ones
 * survive a change of groups (EC2 User Guide, "Security group connection tracking").
 */
import type { SimCore } from './core';
import type { SimRds } from './rds';
import type { SimRoute53 } from './route53';

export interface SimClientSeed {
  /** Who writes (shown in reports). */
  name: string;
  /** The name it connects through: a CNAME to a DB instance's endpoint, in `zoneId`. */
  zoneId: string;
  dnsName: string;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Writes only while this holds (the application on the primary writes while the instance runs). */
  active?: (t: number) => boolean;
  /** May it open a new connection (its own network lets it out)? An open one is kept either way. */
  canConnect?: (t: number) => boolean;
}

/** One write a client tried: where it went, and whether the database acknowledged it. */
export interface SimWriteAttempt {
  client: string;
  at: number;
  db?: { id: string; region: string };
  accepted: boolean;
  error?: string;
}

interface Client extends Required<Omit<SimClientSeed, 'active' | 'canConnect'>> {
  active?: (t: number) => boolean;
  canConnect?: (t: number) => boolean;
  next: number;
  connection?: { id: string; region: string; epoch: number };
  cached?: { endpoint: string; until: number };
}

export class SimClients {
  readonly attempts: SimWriteAttempt[] = [];
  private readonly clients: Client[] = [];

  constructor(private readonly core: SimCore, private readonly rds: SimRds, private readonly route53: SimRoute53) {
    core.addTicker((until) => this.tick(until));
  }

  /** A client that starts writing now. */
  add(seed: SimClientSeed): void {
    this.core.settle();
    const intervalMs = seed.intervalMs ?? 1000;
    this.clients.push({ ...seed, intervalMs, next: this.core.clock.now() + intervalMs });
  }

  /** The named client stops writing from `at` (now by default) and closes its connection. */
  stop(name: string, at = this.core.clock.now()): void {
    const c = this.clients.find((x) => x.name === name);
    if (!c) throw new Error(`SimulatedAccount: no client ${name}`);
    const active = c.active;
    c.active = (t) => t < at && (active?.(t) ?? true);
  }

  /** Does any client hold a live connection to the instance? */
  hasOpenConnection(id: string, region: string): boolean {
    this.core.settle();
    return this.clients.some((c) => c.connection?.id === id && c.connection.region === region
      && c.connection.epoch === this.rds.connectionEpoch(id, region));
  }

  /** Every write each client tries up to `until`, with the world as it stands. */
  private tick(until: number): void {
    for (const c of this.clients) {
      for (; c.next <= until; c.next += c.intervalMs) {
        if (c.active && !c.active(c.next)) {
          c.connection = undefined;
          continue;
        }
        this.attempts.push(this.attempt(c, c.next));
      }
    }
  }

  private attempt(c: Client, at: number): SimWriteAttempt {
    const base = { client: c.name, at };
    if (c.connection && this.rds.connectionEpoch(c.connection.id, c.connection.region) !== c.connection.epoch) {
      c.connection = undefined;
    }
    if (!c.connection) {
      if (c.canConnect && !c.canConnect(at)) return { ...base, accepted: false, error: 'no route out: the client\'s own network refuses new connections' };
      const endpoint = this.resolve(c, at);
      const db = endpoint ? this.rds.byEndpoint(endpoint) : undefined;
      if (!db) return { ...base, accepted: false, error: `cannot resolve ${c.dnsName} to a database` };
      if (!this.rds.acceptsConnections(db.id, db.region)) return { ...base, db, accepted: false, error: 'connection refused or timed out' };
      c.connection = { ...db, epoch: this.rds.connectionEpoch(db.id, db.region) };
    }
    const db = { id: c.connection.id, region: c.connection.region };
    if (!this.rds.acceptsWrites(db.id, db.region)) {
      c.connection = undefined;
      return { ...base, db, accepted: false, error: 'the database refused the write (read-only or not serving)' };
    }
    this.rds.write(db.id, db.region, c.name, at);
    return { ...base, db, accepted: true };
  }

  /**
   * The CNAME's target, from the client's cache while its TTL lasts, else from the DNS data plane (one
   * of the zone's name servers, the same one for a client, as its resolver would cache it): failover
   * records and their health checks decide, not the API's view of the records.
   */
  private resolve(c: Client, at: number): string | undefined {
    if (c.cached && at < c.cached.until) return c.cached.endpoint;
    const servers = this.route53.resolve(c.dnsName, 'CNAME', at);
    const seen = servers[[...c.name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 0) % Math.max(1, servers.length)];
    if (!seen || seen.answers.length === 0) return undefined;
    const endpoint = seen.answers[0].replace(/\.$/, '');
    c.cached = { endpoint, until: at + (seen.ttl ?? 0) * 1000 };
    return endpoint;
  }
}
