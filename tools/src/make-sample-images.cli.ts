// tools:make-sample-images — writes a small set of generated pictures (13 colours × photo/gradient/shapes,
// JPEG/PNG/WebP) that the demo models can search: "red" finds the red ones.
//   npx nx run tools:make-sample-images -- [--out data/sample-images] [--force]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeSampleImages } from './sample-images/sample-images.js';

const USAGE = `make-sample-images: write the generated sample pictures

usage: npx nx run tools:make-sample-images -- [--out DIR] [--force]

  --out DIR   destination folder (default data/sample-images); one subfolder per kind (the category)
  --force     overwrite pictures that already exist
  -h, --help`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: 'string', default: 'data/sample-images' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    console.error(`make-sample-images: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = resolve(values.out!);
  const started = Date.now();
  const r = await writeSampleImages(dir, { force: values.force });
  console.log(
    `make-sample-images: ${r.written} written, ${r.kept} already there, in ${dir} (${Date.now() - started} ms)`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`make-sample-images failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
