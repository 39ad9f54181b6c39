#!/usr/bin/env node
// Container HEALTHCHECK for the embedders: one grpc.health.v1 Check against the local server.
// Exit 0 only when it answers SERVING (model loaded and warmed up). Usage: grpc-health.mjs [port]
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const port = process.argv[2] || process.env.EMBEDDER_PORT || '50051';
const protoDir = fileURLToPath(new URL('../../proto', import.meta.url));
const def = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [protoDir], enums: String });
const { Health } = grpc.loadPackageDefinition(def).grpc.health.v1;
const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
client.check({ service: '' }, { deadline: Date.now() + 3000 }, (err, res) => {
  client.close();
  if (err) {
    console.error(`grpc health: ${err.message}`);
    process.exit(1);
  }
  console.log(`grpc health: ${res.status}`);
  process.exit(res.status === 'SERVING' ? 0 : 1);
});
