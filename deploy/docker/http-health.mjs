#!/usr/bin/env node
// Container HEALTHCHECK for HTTP services (gateway, worker): GET http://127.0.0.1:PORT/PATH,
// exit 0 on 2xx. Usage: http-health.mjs <port> [path]
const [port = '8000', path = '/health'] = process.argv.slice(2);
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`http health: ${err.message}`);
  process.exit(1);
}
