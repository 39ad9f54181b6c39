import { readFileSync, readdirSync } from 'node:fs';
import sharp from 'sharp';
import { loadEmbeddingModel, cosine } from '@image-search/embedding';
import { fixturePath } from '@image-search/testing';
import { resizeGeometry } from '../libs/embedding/src/image-spec.js';
const g = JSON.parse(readFileSync(fixturePath('golden/clip-reference-mini.public.json'), 'utf8'));
const m = await loadEmbeddingModel({ modelDir: fixturePath('models/clip-reference-mini'), family: 'clip', intraOpThreads: 1 });
for (const f of readdirSync(fixturePath('images/derived'))) {
  const b = readFileSync(fixturePath('images/derived', f));
  const meta = await sharp(b, { autoOrient: true }).metadata();
  const geo = resizeGeometry(m.images.spec, meta.autoOrient.width, meta.autoOrient.height);
  const old = await sharp(b, { autoOrient: true, ignoreIcc: true }).resize(geo.width, geo.height, { fit: 'fill', kernel: 'cubic' }).extract({ left: geo.left, top: geo.top, width: 224, height: 224 }).removeAlpha().toColourspace('srgb').raw().toBuffer();
  const t = new Float32Array(3 * 224 * 224); m.images.normalizeInto(old, t, 0);
  const [eo, en] = await m.embedPixels([t, await m.preprocessImage(b)]);
  const gold = g.images.find((i: { file: string }) => i.file.endsWith(f)).embedding;
  console.log(f, 'old vs golden', cosine(eo!, Float32Array.from(gold)).toFixed(6), 'new vs golden', cosine(en!, Float32Array.from(gold)).toFixed(6), 'old vs new', cosine(eo!, en!).toFixed(7));
}
