/**
 * The DNS data plane from a Lambda function: the zone's NS records through the function's resolver,
 * then each name server asked directly (node:dns Resolver with that server only). Every answer is what
 * the authoritative server holds now, not a recursive resolver's cache.
 */
import { Resolver } from 'node:dns/promises';
import type { AuthoritativeAnswer, DnsDataPlane } from '../core/dns-switch';

/** "No such record" is an answer (no values), not a failure to ask. */
const NO_DATA = new Set(['ENODATA', 'ENOTFOUND']);

export interface DataPlaneOptions {
  timeoutMs?: number;
  /** The resolver that finds the zone's name servers (default: the function's own, from /etc/resolv.conf). */
  resolvers?: string[];
  /** The port the name servers answer on (53; another only where a test runs its own server). */
  nameServerPort?: number;
}

/** How long the zone's name servers and their addresses are reused: the records of a poll, and the next polls, ask the same ones. */
const NAME_SERVERS_REUSED_MS = 60_000;

export function authoritativeDataPlane(options: DataPlaneOptions = {}): DnsDataPlane {
  const timeout = options.timeoutMs ?? 2000;
  const port = options.nameServerPort ?? 53;
  const system = new Resolver({ timeout, tries: 2 });
  if (options.resolvers) system.setServers(options.resolvers);
  // Per zone: its name servers, each with its addresses (or why they could not be found).
  const zones = new Map<string, { at: number; servers: Promise<Array<{ server: string; addresses: Promise<string[]> }>> }>();
  const nameServersOf = (zoneName: string) => {
    const known = zones.get(zoneName);
    if (known && Date.now() - known.at < NAME_SERVERS_REUSED_MS) return known.servers;
    const servers = system.resolveNs(zoneName).then((names) =>
      names.map((server) => {
        const addresses = system.resolve4(server);
        // A name server whose address was not found is looked up again at the next query.
        addresses.catch(() => zones.delete(zoneName));
        return { server, addresses };
      }),
    );
    zones.set(zoneName, { at: Date.now(), servers });
    servers.catch(() => zones.delete(zoneName));
    return servers;
  };
  return {
    async query(zoneName, name, type): Promise<AuthoritativeAnswer[]> {
      const servers = await nameServersOf(zoneName);
      return Promise.all(servers.map(async ({ server, addresses }): Promise<AuthoritativeAnswer> => {
        try {
          const direct = new Resolver({ timeout, tries: 2 });
          direct.setServers((await addresses).map((ip) => `${ip}:${port}`));
          const answers = type === 'A' ? await direct.resolve4(name) : type === 'AAAA' ? await direct.resolve6(name) : await direct.resolveCname(name);
          return { server, answers };
        } catch (err) {
          const code = (err as { code?: string }).code;
          return NO_DATA.has(code ?? '') ? { server, answers: [] } : { server, answers: [], error: code ?? (err as Error).message };
        }
      }));
    },
  };
}
