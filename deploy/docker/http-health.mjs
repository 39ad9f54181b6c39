#!/usr/bin/env node
// Container HEALTHCHECK for HTTP services (gateway, worker): GET http://127.0.0.1:$PORT/PATH, exit 0
// on 2xx. The port comes from the service's own variable, so a changed port keeps the check right.
// Usage: http-health.mjs <PORT_VARIABLE> [path]     e.g. http-health.mjs GATEWAY_PORT /health
const [variable = 'GATEWAY_PORT', path = '/health'] = process.argv.slice(2);
const port = process.env[variable];
if (!port || !/^\d+$/.test(port)) {
  console.error(`http health: ${variable} is not set to a port (got ${JSON.stringify(port)})`);
  process.exit(1);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`http health: ${err.message}`);
  process.exit(1);
}
