/**
 * The probe primitives against real sockets: local HTTP and TCP servers on 127.0.0.1, started and
 * closed by each test. Wall-clock bounds here are generous on purpose: they prove a probe does not
 * hang, not how fast it is.
 */
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProbeConfig } from '../../lambdas/core/config';
import { checkAll, checkEndpoint, describeNetworkError, probeLabel } from '../../lambdas/probe/check-endpoint';
import { BENCH_ROOT_CA_FILE, LOCALHOST_CHAIN_FILE, LOCALHOST_KEY_FILE } from '../../lib/bench/tls';

type HttpProbe = Extract<ProbeConfig, { type: 'http' }>;
type TcpProbe = Extract<ProbeConfig, { type: 'tcp' }>;

const servers: net.Server[] = [];
const serverSockets = new Set<net.Socket>();

afterEach(async () => {
  for (const socket of serverSockets) socket.destroy();
  serverSockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** Listen on 127.0.0.1 (or `host`), an ephemeral port; remember the server and its sockets for afterEach. */
async function listen<S extends net.Server>(server: S, host = '127.0.0.1'): Promise<{ server: S; port: number }> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => {
    serverSockets.add(socket);
    socket.on('close', () => serverSockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function httpServer(handler: http.RequestListener) {
  return listen(http.createServer(handler));
}

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const httpProbe = (port: number, over: Partial<HttpProbe> = {}): HttpProbe => ({
  type: 'http',
  url: `http://127.0.0.1:${port}/health`,
  method: 'GET',
  expectStatus: [200],
  timeoutMs: 2000,
  ...over,
});

const tcpProbe = (port: number, over: Partial<TcpProbe> = {}): TcpProbe => ({
  type: 'tcp',
  host: '127.0.0.1',
  port,
  timeoutMs: 2000,
  ...over,
});

/** Runs the probe and returns its result with the wall-clock time it took. */
async function timed<T>(run: () => Promise<T>): Promise<{ result: T; elapsedMs: number }> {
  const started = performance.now();
  const result = await run();
  return { result, elapsedMs: performance.now() - started };
}

describe('probeLabel', () => {
  it.each([
    ['a configured name', httpProbe(80, { name: 'orders api' }), 'orders api'],
    ['method and URL', httpProbe(8080, { method: 'HEAD' }), 'HEAD http://127.0.0.1:8080/health'],
    ['tcp host:port', tcpProbe(5432, { host: '10.0.1.25' }), 'tcp 10.0.1.25:5432'],
    ['an IPv6 host in brackets', tcpProbe(5432, { host: '::1' }), 'tcp [::1]:5432'],
  ])('%s', (_, probe, label) => {
    expect(probeLabel(probe)).toBe(label);
  });
});

describe('checkEndpoint: http', () => {
  it('passes on an expected status, with the status and a latency rounded to 0.1 ms', async () => {
    const { port } = await httpServer((_req, res) => res.end('ok'));

    const result = await checkEndpoint(httpProbe(port));

    expect(result).toEqual({ probe: `GET http://127.0.0.1:${port}/health`, type: 'http', ok: true, latencyMs: expect.any(Number), status: 200 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(Math.round(result.latencyMs * 10) / 10).toBe(result.latencyMs);
  });

  it('fails on a status not expected, listing every expected status', async () => {
    const { port } = await httpServer((_req, res) => {
      res.statusCode = 503;
      res.end('down');
    });

    const one = await checkEndpoint(httpProbe(port));
    const two = await checkEndpoint(httpProbe(port, { expectStatus: [200, 204] }));

    expect(one).toMatchObject({ ok: false, status: 503, error: 'status 503, expected 200' });
    expect(two).toMatchObject({ ok: false, status: 503, error: 'status 503, expected 200, 204' });
  });

  it('does not follow redirects: a 301 is judged as a status', async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(301, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });

    expect(await checkEndpoint(httpProbe(port))).toMatchObject({ ok: false, status: 301, error: 'status 301, expected 200' });
    expect(await checkEndpoint(httpProbe(port, { expectStatus: [301] }))).toMatchObject({ ok: true, status: 301 });
  });

  it('passes when the body contains bodyContains, even split across chunks', async () => {
    const { port } = await httpServer((_req, res) => {
      res.write('{"status":"o');
      setTimeout(() => res.end('k"}'), 20);
    });

    const result = await checkEndpoint(httpProbe(port, { bodyContains: '"ok"' }));

    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.error).toBeUndefined();
  });

  it('fails when the body does not contain bodyContains', async () => {
    const { port } = await httpServer((_req, res) => res.end('{"status":"degraded"}'));

    const result = await checkEndpoint(httpProbe(port, { bodyContains: 'ok' }));

    expect(result).toMatchObject({ ok: false, status: 200, error: 'body does not contain "ok"' });
  });

  it('reads at most 64 KiB of body', async () => {
    const { port } = await httpServer((_req, res) => res.end(`${'a'.repeat(64 * 1024)}ok`));

    const result = await checkEndpoint(httpProbe(port, { bodyContains: 'ok' }));

    expect(result).toMatchObject({ ok: false, status: 200, error: 'body does not contain "ok"' });
  });

  it('does not check the body of a HEAD probe (there is none)', async () => {
    const { port } = await httpServer((_req, res) => res.end());

    expect(await checkEndpoint(httpProbe(port, { method: 'HEAD', bodyContains: 'ok' }))).toMatchObject({ ok: true, status: 200 });
  });

  it('sends a POST with an empty body', async () => {
    let seen: { method?: string; length?: string } = {};
    const { port } = await httpServer((req, res) => {
      seen = { method: req.method, length: req.headers['content-length'] };
      res.end();
    });

    expect(await checkEndpoint(httpProbe(port, { method: 'POST' }))).toMatchObject({ ok: true });
    expect(seen).toEqual({ method: 'POST', length: '0' });
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();

    const result = await checkEndpoint(httpProbe(port));

    expect(result).toMatchObject({ ok: false, error: 'connection refused' });
    expect(result.status).toBeUndefined();
  });

  it('times out on a server that accepts and never answers, and closes the connection', async () => {
    const { port } = await httpServer(() => {
      /* never answers */
    });

    const { result, elapsedMs } = await timed(() => checkEndpoint(httpProbe(port, { timeoutMs: 300 })));

    expect(result).toMatchObject({ ok: false, error: 'timeout after 300 ms' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(3000);
    // The probe destroyed its socket: the server sees every connection close.
    await vi.waitFor(() => expect(serverSockets.size).toBe(0), { timeout: 2000 });
  });

  it('times out on a body that never ends, keeping the status', async () => {
    const { port } = await httpServer((_req, res) => res.write('still thinking'));

    const { result, elapsedMs } = await timed(() => checkEndpoint(httpProbe(port, { bodyContains: 'ok', timeoutMs: 300 })));

    expect(result).toMatchObject({ ok: false, status: 200, error: 'timeout after 300 ms' });
    expect(elapsedMs).toBeLessThan(3000);
    await vi.waitFor(() => expect(serverSockets.size).toBe(0), { timeout: 2000 });
  });

  it('reports a connection closed without a response', async () => {
    const { port } = await listen(net.createServer((socket) => socket.destroy()));

    const result = await checkEndpoint(httpProbe(port));

    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/\(ECONNRESET\)$/);
  });

  it('reports a malformed response', async () => {
    const { port } = await listen(net.createServer((socket) => socket.end('this is not HTTP\r\n\r\n')));

    const result = await checkEndpoint(httpProbe(port));

    expect(result).toMatchObject({ ok: false });
    expect(result.error).toMatch(/^invalid HTTP response \(HPE_[A-Z_]+\)$/);
  });

  it('never throws, even for a URL that bypassed validation', async () => {
    const result = await checkEndpoint(httpProbe(0, { url: 'not a url' }));

    expect(result).toMatchObject({ probe: 'GET not a url', type: 'http', ok: false });
    expect(result.error).toMatch(/ERR_INVALID_URL/);
  });
});

describe('checkEndpoint: https', () => {
  // The bench's certificate for 127.0.0.1 and localhost with its intermediate CA, from a root
  // vitest.config.mts has this process trust (as a deployed probe trusts a public CA); one for
  // other.example from the same intermediate; and one for 127.0.0.1 that nothing trusts.
  const support = (name: string) => readFileSync(resolve(__dirname, '..', 'support', 'tls', name));
  const trusted = { key: readFileSync(LOCALHOST_KEY_FILE), cert: readFileSync(LOCALHOST_CHAIN_FILE) };
  const otherName = { key: support('other-name-key.pem'), cert: support('other-name-chain.pem') };
  const untrusted = { key: support('untrusted-key.pem'), cert: support('untrusted-cert.pem') };

  it('passes against a trusted certificate, and each probe is a new connection with a full handshake (no session resumed)', async () => {
    const server = https.createServer(trusted, (_req, res) => res.end('ok'));
    const handshakes: Array<{ resumed: boolean }> = [];
    server.on('secureConnection', (socket: TLSSocket) => handshakes.push({ resumed: socket.isSessionReused() }));
    const { port } = await listen(server);
    const probe = httpProbe(port, { url: `https://127.0.0.1:${port}/health` });

    const results = [await checkEndpoint(probe), await checkEndpoint(probe), await checkEndpoint(probe)];

    expect(results.map((r) => [r.ok, r.status])).toEqual([[true, 200], [true, 200], [true, 200]]);
    expect(handshakes).toEqual([{ resumed: false }, { resumed: false }, { resumed: false }]);
  });

  it('fails on a certificate no trusted authority signed, after a trusted one passed (the settings shared by probes trust nothing more)', async () => {
    const good = await listen(https.createServer(trusted, (_req, res) => res.end('ok')));
    const bad = await listen(https.createServer(untrusted, (_req, res) => res.end('ok')));

    const passed = await checkEndpoint(httpProbe(good.port, { url: `https://127.0.0.1:${good.port}/health` }));
    const result = await checkEndpoint(httpProbe(bad.port, { url: `https://127.0.0.1:${bad.port}/health` }));

    expect(passed.ok).toBe(true);
    expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/^DEPTH_ZERO_SELF_SIGNED_CERT: /) });
  });

  it('with a `ca` of its own, trusts those certificates and only those: a private CA passes, the public roots no longer do', async () => {
    const publicChain = await listen(https.createServer(trusted, (_req, res) => res.end('ok')));
    const privateCa = await listen(https.createServer(untrusted, (_req, res) => res.end('ok')));
    const privateRoot = untrusted.cert.toString();
    const benchRoot = readFileSync(BENCH_ROOT_CA_FILE, 'utf8');

    const results = await checkAll([
      httpProbe(privateCa.port, { url: `https://127.0.0.1:${privateCa.port}/health`, ca: privateRoot }),
      httpProbe(privateCa.port, { url: `https://127.0.0.1:${privateCa.port}/health` }),
      httpProbe(publicChain.port, { url: `https://127.0.0.1:${publicChain.port}/health`, ca: privateRoot }),
      httpProbe(publicChain.port, { url: `https://localhost:${publicChain.port}/health`, ca: benchRoot }),
    ]);

    expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
    expect(results[1].error).toMatch(/^DEPTH_ZERO_SELF_SIGNED_CERT: /);
    expect(results[2].error).toMatch(/^UNABLE_TO_GET_ISSUER_CERT_LOCALLY: /);
  });

  it('passes when the certificate names the address or the host name probed, and fails, naming what it names, when it does not', async () => {
    const named = await listen(https.createServer(trusted, (_req, res) => res.end('ok')));
    const elsewhere = await listen(https.createServer(otherName, (_req, res) => res.end('ok')));
    const { port: ipv6Port } = await listen(https.createServer(trusted, (_req, res) => res.end('ok')), '::1');

    const results = await checkAll([
      httpProbe(named.port, { url: `https://127.0.0.1:${named.port}/health` }),
      httpProbe(named.port, { url: `https://localhost:${named.port}/health` }),
      // The certificate names 127.0.0.1 and localhost: not ::1, nor localhost on a server whose certificate names other.example.
      httpProbe(ipv6Port, { url: `https://[::1]:${ipv6Port}/health` }),
      httpProbe(elsewhere.port, { url: `https://localhost:${elsewhere.port}/health` }),
    ]);

    expect(results.map((r) => r.ok)).toEqual([true, true, false, false]);
    expect(results[2].error).toBe("ERR_TLS_CERT_ALTNAME_INVALID: ::1 is not among the certificate's names: IP Address:127.0.0.1, DNS:localhost");
    expect(results[3].error).toBe("ERR_TLS_CERT_ALTNAME_INVALID: localhost is not among the certificate's names: DNS:other.example");
  });
});

describe('checkEndpoint: the connection a probe opens', () => {
  const trusted = { key: readFileSync(LOCALHOST_KEY_FILE), cert: readFileSync(LOCALHOST_CHAIN_FILE) };

  it('sends the server name (SNI) for a host name, and none for an address', async () => {
    const names: string[] = [];
    const context = createSecureContext(trusted);
    const server = https.createServer({ ...trusted, SNICallback: (name, use) => {
        names.push(name);
        use(null, context);
      } }, (_req, res) => res.end('ok'));
    const { port } = await listen(server);

    const byAddress = await checkEndpoint(httpProbe(port, { url: `https://127.0.0.1:${port}/health` }));
    const afterAddress = [...names];
    const byName = await checkEndpoint(httpProbe(port, { url: `https://localhost:${port}/health` }));

    expect([byAddress.ok, byName.ok]).toEqual([true, true]);
    expect(afterAddress).toEqual([]);
    expect(names).toEqual(['localhost']);
  });

  it('goes to port 443 for an https URL without one, and 80 for an http one, with the Host header the URL names', async (ctx) => {
    const hosts: string[] = [];
    const record: http.RequestListener = (req, res) => {
      hosts.push(`${req.socket.localPort} ${req.headers.host}`);
      res.end('ok');
    };
    for (const [server, port] of [[https.createServer(trusted, record), 443], [http.createServer(record), 80]] as const) {
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once('error', resolve);
        server.listen(port, '127.0.0.1', () => resolve(undefined));
      });
      if (error) ctx.skip(`port ${port} cannot be bound here (${error.code})`);
      servers.push(server); // closed by afterEach, as the one bound before a skip
    }

    const results = [
      await checkEndpoint(httpProbe(0, { url: 'https://127.0.0.1/health' })),
      await checkEndpoint(httpProbe(0, { url: 'http://127.0.0.1/health' })),
    ];

    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(hosts).toEqual(['443 127.0.0.1', '80 127.0.0.1']);
  });

  it('connects to an IPv6 address written in brackets', async () => {
    const { port } = await listen(http.createServer((req, res) => res.end(`ok from ${req.socket.localAddress}`)), '::1');

    const result = await checkEndpoint(httpProbe(port, { url: `http://[::1]:${port}/health`, bodyContains: 'ok from ::1' }));

    expect(result).toMatchObject({ ok: true, status: 200 });
  });
});

describe('checkEndpoint: tcp', () => {
  it('passes when the connection is established, and closes it', async () => {
    const { port } = await listen(net.createServer(() => {
      /* accepts, says nothing */
    }));

    const result = await checkEndpoint(tcpProbe(port));

    expect(result).toEqual({ probe: `tcp 127.0.0.1:${port}`, type: 'tcp', ok: true, latencyMs: expect.any(Number) });
    await vi.waitFor(() => expect(serverSockets.size).toBe(0), { timeout: 2000 });
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();

    expect(await checkEndpoint(tcpProbe(port))).toMatchObject({ probe: `tcp 127.0.0.1:${port}`, type: 'tcp', ok: false, error: 'connection refused' });
  });
});

describe('checkAll', () => {
  it('probes concurrently: a hanging endpoint times out without delaying the fast ones, results in config order', async () => {
    const fast = await httpServer((_req, res) => res.end('ok'));
    const hanging = await httpServer(() => {
      /* never answers */
    });
    const tcp = await listen(net.createServer(() => {}));
    const probes: ProbeConfig[] = [
      httpProbe(fast.port, { name: 'fast http' }),
      httpProbe(hanging.port, { name: 'hanging http', timeoutMs: 1000 }),
      tcpProbe(tcp.port, { name: 'fast tcp' }),
    ];

    const { result, elapsedMs } = await timed(() => checkAll(probes));

    expect(result.map((r) => [r.probe, r.ok, r.error])).toEqual([
      ['fast http', true, undefined],
      ['hanging http', false, 'timeout after 1000 ms'],
      ['fast tcp', true, undefined],
    ]);
    expect(result[0].latencyMs).toBeLessThan(250);
    expect(result[2].latencyMs).toBeLessThan(250);
    expect(elapsedMs).toBeLessThan(5000);
  });

  it('returns nothing for no probes', async () => {
    expect(await checkAll([])).toEqual([]);
  });
});

describe('describeNetworkError', () => {
  const withCode = (code: string, message = `${code} happened`) => Object.assign(new Error(message), { code });

  it.each([
    ['refused', withCode('ECONNREFUSED'), 'connection refused'],
    ['DNS: no such name', withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND db.invalid'), 'host not found'],
    ['DNS: resolver failure', withCode('EAI_AGAIN', 'getaddrinfo EAI_AGAIN db.example.com'), 'host not found'],
    ['reset', withCode('ECONNRESET', 'read ECONNRESET'), 'connection reset (ECONNRESET)'],
    ['closed without a response', withCode('ECONNRESET', 'socket hang up'), 'connection closed without a response (ECONNRESET)'],
    ['unreachable', withCode('EHOSTUNREACH'), 'host unreachable (EHOSTUNREACH)'],
    ['TLS', withCode('CERT_HAS_EXPIRED', 'certificate has expired'), 'CERT_HAS_EXPIRED: certificate has expired'],
    ['happy eyeballs', new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]), 'connection refused'],
    ['no code, control characters', new Error('line one\nline two'), 'line one line two'],
    ['not an error', 'boom', 'boom'],
  ])('%s', (_, err, phrase) => {
    expect(describeNetworkError(err)).toBe(phrase);
  });

  it('bounds a long message', () => {
    expect(describeNetworkError(new Error('x'.repeat(500)))).toHaveLength(120);
  });
});
