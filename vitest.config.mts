import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The bench's HTTPS endpoints (lib/bench/tls.ts) serve a certificate for 127.0.0.1 from the bench's own
// root CA. Node reads NODE_EXTRA_CA_CERTS only when a process starts: set here, before vitest forks its
// workers, they trust that root.
process.env.NODE_EXTRA_CA_CERTS = fileURLToPath(new URL('./lib/bench/tls/root-ca.pem', import.meta.url));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
