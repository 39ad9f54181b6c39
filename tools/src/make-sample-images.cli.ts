// tools:make-sample-images — writes a small set of generated pictures (13 colours × photo/gradient/shapes,
// JPEG/PNG/WebP) that the demo models can search: "red" finds the red ones.
//   npx nx run tools:make-sample-images -- [--out data/sample-images] [--force]
import { resolve } from 'node:path';
import { parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import { writeSampleImages } from './sample-images/sample-images.js';

const USAGE = `make-sample-images: write the generated sample pictures

usage: npx nx run tools:make-sample-images -- [--out DIR] [--force]

  --out DIR   destination folder (default data/sample-images); one subfolder per kind (the category)
  --force     overwrite pictures that already exist
  -h, --help`;

async function main(): Promise<number> {
  const { values } = parseCommandLine({
    options: {
      out: { type: 'string', default: 'data/sample-images' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const dir = resolve(values.out!);
  const started = Date.now();
  const r = await writeSampleImages(dir, { force: values.force });
  console.log(
    `make-sample-images: ${r.written} written, ${r.kept} already there, in ${dir} (${Date.now() - started} ms)`,
  );
  return 0;
}

await runCli('make-sample-images', USAGE, main, { exit: true });
