/**
 * The bench probes HTTPS endpoints, as a deployed probe mostly does (the example config's probes are
 * https://): a TLS handshake costs a probe function several times the CPU of a plain HTTP request, and
 * CPU is what a function of a fraction of a vCPU runs short of. The local endpoints serve what a public
 * endpoint serves: a certificate for 127.0.0.1 and localhost (RSA 2048, the key ACM issues by default)
 * and the intermediate CA that signed it, in tls/localhost-chain.pem; the client checks both up to a
 * root it trusts, tls/root-ca.pem. The tests have one for other.example from the same intermediate
 * (test/support/tls). The keys protect nothing but local loopback servers (the CAs' keys were not kept).
 *
 * The probe trusts the system's roots and nothing else (lambdas/probe/check-endpoint.ts), so the
 * process that probes must be started with NODE_EXTRA_CA_CERTS naming the root: Node reads it only
 * when a process starts. `npm run bench` and vitest.config.mts set it.
 */
import { resolve } from 'node:path';

/** The endpoints' certificate and the intermediate CA's, as a server sends them. */
export const LOCALHOST_CHAIN_FILE = resolve(__dirname, 'tls', 'localhost-chain.pem');
export const LOCALHOST_KEY_FILE = resolve(__dirname, 'tls', 'localhost-key.pem');
/** The root the probing process trusts. */
export const BENCH_ROOT_CA_FILE = resolve(__dirname, 'tls', 'root-ca.pem');

/** Throws, saying how to run it, unless this process trusts the local endpoints' root. */
export function assertTrustsBenchRoot(): void {
  const named = process.env.NODE_EXTRA_CA_CERTS;
  if (named !== undefined && resolve(named) === BENCH_ROOT_CA_FILE) return;
  throw new Error(
    `the HTTPS probe measurements need NODE_EXTRA_CA_CERTS=${BENCH_ROOT_CA_FILE} when the process starts ` +
      `(it is ${named === undefined ? 'unset' : JSON.stringify(named)}): run them through \`npm run bench\` or vitest`,
  );
}
