/** Read a required environment variable; the error names the missing key. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(`environment variable ${name} is not set; the stack sets it on every step function`);
  }
  return value;
}
