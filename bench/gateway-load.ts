// Load generator for bench/gateway.bench.ts, run as its own process so the load does not share an
// event loop with the gateway. Prints one JSON line with autocannon's figures.
//   npx tsx bench/gateway-load.ts '{"url":"http://127.0.0.1:8000","connections":10,"durationS":10,"mode":"uncached"}'
import autocannon from 'autocannon';

interface LoadArgs {
  url: string;
  connections: number;
  durationS: number;
  mode: 'uncached' | 'cached';
  limit?: number;
  seed?: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const WORDS = [
  'red',
  'blue',
  'green',
  'sunset',
  'mountain',
  'beach',
  'dog',
  'cat',
  'city',
  'forest',
  'car',
  'snow',
  'river',
  'portrait',
  'night',
  'flower',
];
let n = 0;
// Every uncached request gets a query never sent before (a counter in the text), so the query cache never hits.
const uncachedBody = () => {
  n++;
  const a = WORDS[n % WORDS.length]!;
  const b = WORDS[(n * 7) % WORDS.length]!;
  return JSON.stringify({ query: `${a} ${b} photo number ${args.seed ?? ''}${n}`, limit: args.limit ?? 20 });
};
const cachedBody = JSON.stringify({ query: 'a red car parked by the beach at sunset', limit: args.limit ?? 20 });

const result = await autocannon({
  url: `${args.url}/api/v1/search`,
  connections: args.connections,
  duration: args.durationS,
  pipelining: 1,
  // Seconds: on a CPU box at 50 clients a full-size model queues requests for many seconds.
  timeout: 300,
  requests: [
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: args.mode === 'cached' ? cachedBody : uncachedBody() }),
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    mode: args.mode,
    connections: args.connections,
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.average,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationS: result.duration,
  }) + '\n',
);
