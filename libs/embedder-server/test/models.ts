// Which real ONNX models the specs run.
import { fixturePath } from '@image-search/testing';

/** A small real model folder of the family. */
export function testModelDir(family: 'clip' | 'siglip'): string {
  return fixturePath('models', `${family}-reference-mini`);
}
