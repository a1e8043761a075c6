/**
 * One probe round's I/O: check each configured endpoint once, bounded by its timeout, and say what
 * happened in a short phrase that ends up in the round's reason sentence.
 *
 *   await checkEndpoint({ type: 'tcp', host: '10.0.1.25', port: 5432, timeoutMs: 2000 })
 *   // { probe: 'tcp 10.0.1.25:5432', type: 'tcp', ok: false, latencyMs: 0.4, error: 'connection refused' }
 *
 * A probe never throws and never outlives its timeout: whatever goes wrong (refused, DNS, TLS, a server
 * that accepts and then says nothing) becomes `ok: false` with an `error`, and the socket is destroyed.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, isIP, isIPv6, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ProbeConfig } from '../core/config';

export interface ProbeResult {
  /** The probe's label: its configured name, or `GET https://...` / `tcp host:port`. */
  probe: string;
  type: 'http' | 'tcp';
  ok: boolean;
  /** From the start of the probe to its outcome (including the body read), rounded to 0.1 ms. */
  latencyMs: number;
  /** The HTTP status, when a response arrived. */
  status?: number;
  /** Why the probe failed: `connection refused`, `timeout after 2000 ms`, `status 503, expected 200`, ... */
  error?: string;
  /**
   * Set when the failure is the prober's own, not the endpoint's (out of file descriptors, no DNS
   * resolver, no local address): the round says nothing about the primary and is void.
   */
  voidReason?: string;
}

type HttpProbe = Extract<ProbeConfig, { type: 'http' }>;
type TcpProbe = Extract<ProbeConfig, { type: 'tcp' }>;
type Outcome = Omit<ProbeResult, 'probe' | 'type' | 'latencyMs'>;

/**
 * Errors that come from the probing machine, not from the endpoint. Lambda gives an execution
 * environment 1,024 file descriptors (Lambda Developer Guide, "Lambda quotas": "File descriptors
 * 1,024"): past them every new socket fails with EMFILE. EAI_AGAIN is the resolver not answering
 * (getaddrinfo's "temporary failure in name resolution"), unlike ENOTFOUND, a name that does not
 * exist. EADDRNOTAVAIL: no local port or address left. ENOBUFS/ENOMEM: the kernel or the process
 * out of memory.
 */
const PROBER_ERRORS: Record<string, string> = {
  EMFILE: 'the probe function ran out of file descriptors (EMFILE)',
  ENFILE: 'the system ran out of file descriptors (ENFILE)',
  EAI_AGAIN: "the probe function's DNS resolver did not answer (EAI_AGAIN)",
  EADDRNOTAVAIL: 'the probe function has no local address or port left (EADDRNOTAVAIL)',
  ENOBUFS: 'the probe function ran out of buffer space (ENOBUFS)',
  ENOMEM: 'the probe function ran out of memory (ENOMEM)',
  ENETDOWN: "the probe function's network interface is down (ENETDOWN)",
};

/** The prober's own fault behind `err`, if it is one. */
function proberFault(err: unknown): string | undefined {
  const code = firstCause(err)?.code;
  return typeof code === 'string' ? PROBER_ERRORS[code] : undefined;
}

/** A failed outcome for a network error, marked void when the error is the prober's. */
function failure(err: unknown, status?: number): Outcome {
  const voidReason = proberFault(err);
  return { ok: false, ...(status !== undefined ? { status } : {}), error: describeNetworkError(err), ...(voidReason ? { voidReason } : {}) };
}

/** The body is searched for `bodyContains` in at most this many bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** `probe.name`, else `GET https://db.example.com/health` or `tcp 10.0.1.25:5432`. */
export function probeLabel(probe: ProbeConfig): string {
  if (probe.name !== undefined) return probe.name;
  if (probe.type === 'http') return `${probe.method} ${probe.url}`;
  const host = isIPv6(probe.host) ? `[${probe.host}]` : probe.host;
  return `tcp ${host}:${probe.port}`;
}

/** Check one endpoint once. Never throws; resolves within `timeoutMs` (plus event-loop slack). */
export async function checkEndpoint(probe: ProbeConfig): Promise<ProbeResult> {
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = probe.type === 'http' ? await checkHttp(probe) : await checkTcp(probe);
  } catch (err) {
    // Only a bug or a config that bypassed validation gets here (an unparsable URL, say).
    outcome = failure(err);
  }
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  return { probe: probeLabel(probe), type: probe.type, ok: outcome.ok, latencyMs, ...withoutOk(outcome) };
}

/** Check every endpoint at the same time; results come back in config order. */
export async function checkAll(probes: ProbeConfig[]): Promise<ProbeResult[]> {
  return Promise.all(probes.map((probe) => checkEndpoint(probe)));
}

function withoutOk({ ok: _ok, ...rest }: Outcome): Omit<Outcome, 'ok'> {
  return rest;
}

/**
 * Runs `start` with a `settle` callback that only counts once, and a timer that settles as a timeout
 * (keeping what `seen` holds by then, such as a status that arrived before a slow body). `cleanup`
 * runs exactly once, whichever way it ends, so no socket outlives the probe.
 */
function bounded(
  timeoutMs: number,
  start: (settle: (o: Outcome) => void, seen: { status?: number }) => () => void,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const seen: { status?: number } = {};
    let cleanup: (() => void) | undefined;
    const settle = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        cleanup?.();
      } finally {
        resolve(outcome);
      }
    };
    const timer = setTimeout(() => settle({ ok: false, ...seen, error: `timeout after ${timeoutMs} ms` }), timeoutMs);
    try {
      cleanup = start(settle, seen);
    } catch (err) {
      settle(failure(err));
      return;
    }
    // start() may have settled synchronously, before cleanup was known.
    if (done) cleanup();
  });
}

function checkTcp(probe: TcpProbe): Promise<Outcome> {
  return bounded(probe.timeoutMs, (settle) => {
    const socket = new Socket();
    socket.once('connect', () => settle({ ok: true }));
    // Stays attached after settling: destroy() may still emit, and an unhandled 'error' would crash.
    socket.on('error', (err) => settle(failure(err)));
    socket.connect({ host: probe.host, port: probe.port });
    return () => socket.destroy();
  });
}

function checkHttp(probe: HttpProbe): Promise<Outcome> {
  const url = new URL(probe.url);
  const secure = url.protocol === 'https:';
  const needle = probe.method === 'HEAD' || probe.bodyContains === undefined ? undefined : Buffer.from(probe.bodyContains, 'utf8');

  return bounded(probe.timeoutMs, (settle, seen) => {
    const req = (secure ? https : http).request(url, {
      method: probe.method,
      // No Agent: each probe opens a connection of its own and closes it. A pooled one could be
      // half-dead, and would outlive the probe.
      createConnection: secure ? (to: ConnectTo) => openTls(to, probe.ca) : openTcp,
      defaultPort: secure ? 443 : 80,
      headers: {
        'user-agent': 'failover-controller-probe',
        accept: '*/*',
        connection: 'close',
        ...(probe.method === 'POST' ? { 'content-length': '0' } : {}),
      },
    });
    req.on('error', (err) => settle(failure(err)));
    req.on('response', (res) => {
      // Redirects are not followed: a 301 is judged like any other status.
      const status = res.statusCode ?? 0;
      seen.status = status;
      res.on('error', (err) => settle(failure(err, status)));
      if (!probe.expectStatus.includes(status)) {
        settle({ ok: false, status, error: `status ${status}, expected ${probe.expectStatus.join(', ')}` });
        return;
      }
      if (!needle) {
        settle({ ok: true, status });
        return;
      }
      const notFound = () => settle({ ok: false, status, error: `body does not contain ${quote(probe.bodyContains ?? '')}` });
      let body = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        const room = MAX_BODY_BYTES - body.length;
        body = Buffer.concat([body, room < chunk.length ? chunk.subarray(0, room) : chunk]);
        // Searching the bytes, not decoded text, so a character split across chunks still matches.
        if (body.includes(needle)) settle({ ok: true, status });
        else if (body.length >= MAX_BODY_BYTES) notFound();
      });
      res.on('end', notFound);
    });
    req.end();
    return () => req.destroy();
  });
}

type ConnectTo = Pick<http.ClientRequestArgs, 'host' | 'port'>;

/** A plain HTTP probe's connection, to the host and port the request took from the URL. */
function openTcp({ host, port }: ConnectTo): Socket {
  return tcpConnect({ host: host ?? 'localhost', port: Number(port) });
}

/**
 * An HTTPS probe's connection, as the https module's Agent would open it (the server's name sent for a
 * host name, none for an address: RFC 6066, section 3), with the shared TLS settings and the name check
 * below. Without the Agent, no listener keeps the session tickets a server sends after the handshake
 * (two with TLS 1.3), and Node does not serialize them for it: 200 HTTPS probes took a tenth less CPU
 * than through an Agent of their own (2026-12-05, Node 24, docs/cost.md).
 */
function openTls({ host, port }: ConnectTo, ca: string | undefined): TLSSocket {
  const name = host ?? 'localhost';
  const socket: TLSSocket = tlsConnect({
    host: name,
    port: Number(port),
    secureContext: tlsSettings(ca),
    ...(isIP(name) ? {} : { servername: name }),
    checkServerIdentity: (hostname) => checkNames(socket, hostname),
  });
  // Node converts the server's certificates to objects for checkServerIdentity before calling it (each
  // with its key, three fingerprints and its bytes: a fifth of an HTTPS probe's CPU, 2026-12-05,
  // docs/cost.md). checkNames reads the certificate itself, so this socket gives Node nothing to convert.
  socket.getPeerCertificate = (() => ({})) as TLSSocket['getPeerCertificate'];
  return socket;
}

/**
 * Does the server's certificate name the host probed? Asked of OpenSSL (X509_check_host and
 * X509_check_ip, through Node's X509Certificate), after OpenSSL verified the chain in the handshake:
 * a host name must match one of the certificate's DNS names, where a wildcard stands for part or all of
 * the leftmost label only, and the subject's common name counts only when the certificate has no DNS name
 * (RFC 6125; Node's own tls.checkServerIdentity has the same rules); an address must be one of its IP
 * addresses. The error has the code Node's check gives it.
 */
function checkNames(socket: TLSSocket, hostname: string): Error | undefined {
  const certificate = socket.getPeerX509Certificate();
  // A name with its trailing dot (example.com.) is the same name.
  const host = hostname.replace(/\.$/, '');
  const named = certificate !== undefined && (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host)) !== undefined;
  if (named) return undefined;
  // Its alternative names, else its subject (whose common name is then the name checked).
  const names = certificate?.subjectAltName ?? certificate?.subject.replace(/\n/g, ', ') ?? 'none';
  const error: Error & { code?: string } = new Error(`${host} is not among the certificate's names: ${names}`);
  error.code = 'ERR_TLS_CERT_ALTNAME_INVALID';
  return error;
}

/**
 * The TLS settings HTTPS probes share: the default ones (the system's trusted roots, Node's ciphers),
 * or, for a probe with its own `ca`, those certificates as the only roots (Node's `ca` replaces the
 * defaults). Each is built once an execution environment rather than once a connection (a sixth of an
 * HTTPS probe's CPU, measured with `npm run bench`). They hold no session: each probe is still a new
 * connection with a full handshake, its certificate checked against the roots and the host.
 */
const sharedTls = new Map<string | undefined, SecureContext>();
function tlsSettings(ca: string | undefined): SecureContext {
  let settings = sharedTls.get(ca);
  if (settings === undefined) {
    settings = createSecureContext(ca === undefined ? {} : { ca });
    sharedTls.set(ca, settings);
  }
  return settings;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

// Short phrases for the errors a probe meets in practice; anything else shows its code.
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EAI_NONAME: 'host not found',
  ECONNRESET: 'connection reset (ECONNRESET)',
  EHOSTUNREACH: 'host unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'network unreachable (ENETUNREACH)',
  ETIMEDOUT: 'connection timed out (ETIMEDOUT)',
  EPIPE: 'connection closed while sending (EPIPE)',
};

/**
 * A short phrase for a network error: `connection refused`, `host not found`,
 * `connection reset (ECONNRESET)`, `CERT_HAS_EXPIRED: certificate has expired`.
 */
export function describeNetworkError(err: unknown): string {
  const e = firstCause(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (code === 'ECONNRESET' && message === 'socket hang up') return 'connection closed without a response (ECONNRESET)';
  if (code && NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
  if (code?.startsWith('HPE_')) return `invalid HTTP response (${code})`;
  // Reasons go to history and notifications: one line, printable, bounded.
  // eslint-disable-next-line no-control-regex
  const shown = `${code ? `${code}: ` : ''}${message}`.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown || 'unknown error';
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

/** With happy eyeballs, a failed connect can be an AggregateError whose own code is missing. */
function firstCause(err: unknown): ErrorLike | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as ErrorLike & { errors?: unknown };
  if (e.code === undefined && err instanceof AggregateError && Array.isArray(e.errors) && e.errors.length > 0) {
    return firstCause(e.errors[0]);
  }
  return e;
}
