/**
 * The bench probes HTTPS endpoints, as a deployed probe mostly does (the example config's probes are
 * https://): a TLS handshake costs a probe function several times the CPU of a plain HTTP request, and
 * CPU is what a function of a fraction of a vCPU runs short of. The local endpoints serve a self-signed RSA 2048
 * certificate (the key ACM issues by default) for 127.0.0.1 only, in tls/; the key protects nothing
 * but the bench's own loopback servers.
 *
 * The probe trusts the system's roots and nothing else (lambdas/probe/check-endpoint.ts), so the
 * process that probes must be started with NODE_EXTRA_CA_CERTS naming the certificate: Node reads it
 * only when a process starts. `npm run bench` and vitest.config.mts set it.
 */
import { resolve } from 'node:path';

export const LOCALHOST_CERT_FILE = resolve(__dirname, 'tls', 'localhost-cert.pem');
export const LOCALHOST_KEY_FILE = resolve(__dirname, 'tls', 'localhost-key.pem');

/** Throws, saying how to run it, unless this process trusts the local endpoints' certificate. */
export function assertTrustsLocalhostCert(): void {
  const named = process.env.NODE_EXTRA_CA_CERTS;
  if (named !== undefined && resolve(named) === LOCALHOST_CERT_FILE) return;
  throw new Error(
    `the HTTPS probe measurements need NODE_EXTRA_CA_CERTS=${LOCALHOST_CERT_FILE} when the process starts ` +
      `(it is ${named === undefined ? 'unset' : JSON.stringify(named)}): run them through \`npm run bench\` or vitest`,
  );
}
