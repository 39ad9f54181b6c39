// Which real ONNX models the specs run: the project's generated tiny models (no fixtures needed).
import { tinyModelDir } from '@image-search/testing';

/** A tiny real model folder of the family ('colour' embeddings carry a known meaning). */
export function testModelDir(
  family: 'clip' | 'siglip',
  kind: 'colour' | 'random' = 'colour',
  layout: 'hf' | 'immich' = 'hf',
): Promise<string> {
  return tinyModelDir(family, kind, layout);
}
