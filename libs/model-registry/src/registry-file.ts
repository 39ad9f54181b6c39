import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '@image-search/service-kit';

const ID = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const COLLECTION = /^[A-Za-z0-9_-]{1,64}$/;

const modelSchema = z
  .object({
    id: z
      .string()
      .regex(ID, 'lower-case letters, digits, ".", "_" or "-", at most 63, starting with a letter or digit'),
    /** `siglip2` is a SigLIP served by a SigLIP embedder whose model folder holds SigLIP 2 (Gemma tokenizer). */
    family: z.enum(['clip', 'siglip', 'siglip2']),
    dim: z.number().int().min(1).max(65_536),
    collection: z.string().regex(COLLECTION, 'letters, digits, "_" or "-", at most 64'),
    embedder: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    pretrained: z.string().min(1).optional(),
    fingerprint: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'sha256: followed by 64 hex digits (as the embedder reports in Info)')
      .optional(),
    /**
     * Read by `npm start` only: the model folder it serves this model from, with an embedder of the
     * model's family on the `embedder` port (relative to the file's folder; `demo:NAME` names a demo model
     * npm start builds). Services ignore it: in production the embedder is deployed like any other.
     */
    model_dir: z.string().min(1).optional(),
  })
  .strict();

const fileSchema = z
  .object({
    models: z.array(modelSchema).default([]),
    rollout: z
      .object({ from: z.string().min(1), to: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

/** One model declared in a registry file. */
export type RegistryFileModel = z.infer<typeof modelSchema>;
/** A parsed registry file: extra models and the pair the rollout and migrations default to. */
export type RegistryFile = z.infer<typeof fileSchema>;

/** Parses registry-file text (YAML or JSON); every problem is an INVALID_CONFIG naming the field and the file. */
export function parseRegistryFile(text: string, where = 'MODEL_REGISTRY_FILE'): RegistryFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AppError('INVALID_CONFIG', `${where}: not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = fileSchema.safeParse(doc ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new AppError('INVALID_CONFIG', `${where}: invalid model registry:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Reads and parses a registry file; a missing or unreadable file is an INVALID_CONFIG naming it. */
export function readRegistryFile(path: string): RegistryFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AppError(
      'INVALID_CONFIG',
      `MODEL_REGISTRY_FILE ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  return parseRegistryFile(text, `MODEL_REGISTRY_FILE ${path}`);
}
