import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { EMBEDDER_SERVICE_NAME, ITEM_ERROR_REASONS, loadEmbedderProto } from './index.js';

describe('embedder proto', () => {
  it('loads the service with its three RPCs', () => {
    const proto = loadEmbedderProto();
    const service = proto.imagesearch.embedder.v1.Embedder.service;
    expect(Object.keys(service).sort()).toEqual(['EmbedImages', 'EmbedTexts', 'Info']);
    expect(service.EmbedTexts.path).toBe(`/${EMBEDDER_SERVICE_NAME}/EmbedTexts`);
  });

  it('lists every per-item error reason of the proto enum, in its order (the catalogue in image-formats)', () => {
    const proto = loadEmbedderProto();
    const values = (
      proto.imagesearch.embedder.v1.ItemErrorReason as unknown as { type: { value: { name: string }[] } }
    ).type.value.map((v) => v.name);
    expect(values.filter((v) => v !== 'ITEM_ERROR_REASON_UNSPECIFIED')).toEqual([...ITEM_ERROR_REASONS]);
  });

  it('has generated types that match the proto (regenerated and compared)', () => {
    const out = execFileSync('node', ['../../tools/scripts/gen-proto.mjs', '--check'], { encoding: 'utf8' });
    expect(out).toContain('up to date');
  });
});
