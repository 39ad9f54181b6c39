import { readFileSync } from 'node:fs';
import { ImagePreprocessor } from '@image-search/embedding';
import { largePhoto, fixturePath } from '@image-search/testing';
const SPEC = { size: 224, mode: 'shortest' as const, resizeShortest: 224, kernel: 'cubic' as const, mean: [0.5,0.5,0.5] as [number,number,number], std: [0.5,0.5,0.5] as [number,number,number], rescale: 1/255, dropAlpha: 'after' as const };
const src = readFileSync(fixturePath('images/coco/000000000790.jpg'));
const plain = await largePhoto(src, { seed: 1 });
const rot = await largePhoto(src, { seed: 1, orientation: 6 });
const p = new ImagePreprocessor(SPEC);
const sq = new ImagePreprocessor({ ...SPEC, mode: 'squash' });
const med = (x: number[]) => x.sort((a, b) => a - b)[x.length >> 1]!.toFixed(1);
const t: Record<string, number[]> = { plain: [], rot: [], sqplain: [], sqrot: [] };
for (let i = 0; i < 21; i++) for (const [k, pp, b] of [['plain', p, plain], ['rot', p, rot], ['sqplain', sq, plain], ['sqrot', sq, rot]] as const) {
  const s = performance.now(); await pp.preparePixels(b); t[k]!.push(performance.now() - s);
}
console.log(Object.entries(t).map(([k, v]) => `${k} ${med(v)}`).join('  '));
