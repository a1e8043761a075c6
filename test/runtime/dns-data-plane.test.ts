/**
 * The Lambda's DNS data plane against a real DNS server on the loopback interface: the zone's NS records
 * found through the resolver, then the name server asked directly. The server answers from a table, in
 * DNS wire format (RFC 1035, 4.1), as an authoritative server would.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authoritativeDataPlane } from '../../lambdas/runtime/dns-data-plane';

const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME' };
const ZONE: Record<string, string[]> = {
  'NS example.com': ['ns1.example.net'],
  'A ns1.example.net': ['127.0.0.1'],
  'CNAME db.example.com': ['orders-replica.example.net'],
  'A api.example.com': ['198.51.100.20', '198.51.100.21'],
};

const encodeName = (name: string) => Buffer.concat([...name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);

/** One answer to one query: the question copied back, each record's name a pointer to it. */
function answer(query: Buffer): Buffer {
  let offset = 12;
  const labels: string[] = [];
  while (query[offset] !== 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + query[offset]).toString());
    offset += query[offset] + 1;
  }
  const qtype = query.readUInt16BE(offset + 1);
  const question = query.subarray(12, offset + 5);
  const values = ZONE[`${TYPES[qtype]} ${labels.join('.').toLowerCase()}`] ?? [];
  const records = values.map((v) => {
    const rdata = qtype === 1 ? Buffer.from(v.split('.').map(Number)) : encodeName(v);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(qtype, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(30, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([Buffer.from([0xc0, 0x0c]), fixed, rdata]);
  });
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8400, 2); // a response, authoritative, no error (NODATA when there is no record)
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, question, ...records]);
}

let server: Socket;
let port: number;
/** Every query the server received. */
const asked: Buffer[] = [];
const nsQueries = () => asked.filter((q) => q.readUInt16BE(q.indexOf(0, 12) + 1) === 2).length;
beforeAll(async () => {
  server = createSocket('udp4');
  server.on('message', (msg, rinfo) => {
    asked.push(msg);
    server.send(answer(msg), rinfo.port, rinfo.address);
  });
  await new Promise<void>((done) => server.bind(0, '127.0.0.1', () => done()));
  port = server.address().port;
});
afterAll(() => server.close());

describe('authoritativeDataPlane', () => {
  const plane = () => authoritativeDataPlane({ resolvers: [`127.0.0.1:${port}`], nameServerPort: port });

  it('asks each of the zone\'s name servers directly, and reports what each answers', async () => {
    expect(await plane().query('example.com', 'db.example.com', 'CNAME')).toEqual([{ server: 'ns1.example.net', answers: ['orders-replica.example.net'] }]);
    expect(await plane().query('example.com', 'api.example.com', 'A')).toEqual([{ server: 'ns1.example.net', answers: ['198.51.100.20', '198.51.100.21'] }]);
  });

  it('finds the zone\'s name servers once for the records of a poll and the polls that follow, not once per record', async () => {
    const p = plane();
    const before = nsQueries();
    await Promise.all([p.query('example.com', 'db.example.com', 'CNAME'), p.query('example.com', 'api.example.com', 'A')]);
    await p.query('example.com', 'db.example.com', 'CNAME');
    expect(nsQueries() - before).toBe(1);
  });

  it('a name with no record of the type is an answer with no values, not a failure to ask', async () => {
    expect(await plane().query('example.com', 'nothing.example.com', 'A')).toEqual([{ server: 'ns1.example.net', answers: [] }]);
  });
});
