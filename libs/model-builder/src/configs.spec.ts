import { describe, expect, it } from 'vitest';
import { CLIP_VIT_B32, paramCounts, SIGLIP_B16_224, tinyClipArch, tinySiglipArch } from './configs.js';
import { archTowers } from './tiny-model.js';

describe('architecture parameter counts', () => {
  it('CLIP ViT-B/32 matches openai/clip-vit-base-patch32 exactly', () => {
    expect(paramCounts(CLIP_VIT_B32)).toEqual({ vision: 87_849_216, text: 63_428_096 });
  });

  it('SigLIP B/16-224 matches google/siglip-base-patch16-224 (about 92.9M and 110.3M)', () => {
    expect(paramCounts(SIGLIP_B16_224)).toEqual({ vision: 92_884_224, text: 110_271_744 });
  });

  // Building a graph creates no weights (they are generated while writing), so full size is cheap here.
  it.each([CLIP_VIT_B32, SIGLIP_B16_224, tinyClipArch(600), tinySiglipArch(120)])(
    'the graph builder creates exactly those parameters (%#)',
    (arch) => {
      const t = archTowers(arch, 1);
      expect({ vision: t.vision.paramCount(), text: t.text.paramCount() }).toEqual(paramCounts(arch));
    },
  );
});
