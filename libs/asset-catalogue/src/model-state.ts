import { AppError } from '@image-search/service-kit';

/** A model taken out of service after a verified migration: its collection is kept until `drop_after`. */
export interface RetiredModel {
  model_id: string;
  collection: string;
  /** The model that replaced it (the `to` of the migration that retired it). */
  replaced_by: string;
  retired_at: string;
  /** The end of the grace period: before it the collection is kept for a rollback and cannot be dropped. */
  drop_after: string;
  /** When `tools:models drop` dropped the collection (null while it is kept). */
  dropped_at: string | null;
}

/**
 * Which models serve, recorded where every gateway, worker and tool of the installation reads it (the
 * catalogue's database, or the embedded catalogue's folder). Absent until the first migration is
 * started or retired: until then the registry's rollout pair (seed or MODEL_REGISTRY_FILE) serves.
 */
export interface ModelState {
  /** Increases with every write; a writer passes the version it read (compare-and-set). */
  version: number;
  /** The rollout pair in effect: `to` null between migrations (the `from` model serves everyone). */
  pair: { from: string; to: string | null };
  retired: RetiredModel[];
  updated_at: string;
}

/** What a writer passes: the new pair and retirements (the store stamps version and time). */
export type ModelStateWrite = Pick<ModelState, 'pair' | 'retired'>;

/** The part of a catalogue that records the model state. */
export interface ModelStateStore {
  /** The recorded state, or undefined when none was written yet. */
  readModelState(): Promise<ModelState | undefined>;
  /**
   * Writes the state if the stored version is still `expectedVersion` (0: none stored yet); FAILED_PRECONDITION
   * when another writer was first (read again and retry).
   */
  writeModelState(next: ModelStateWrite, expectedVersion: number): Promise<ModelState>;
}

/** The FAILED_PRECONDITION a lost compare-and-set raises. */
export function modelStateConflict(expected: number, found: number): AppError {
  return new AppError(
    'FAILED_PRECONDITION',
    `the model state changed meanwhile (expected version ${expected}, found ${found}); read it again and retry`,
    { details: { expected_version: expected, found_version: found } },
  );
}

/** Parses a stored state document; INTERNAL naming the problem when it is not one (a hand-edited file). */
export function parseModelState(doc: unknown, where: string): ModelState {
  const d = doc as Partial<ModelState> | null;
  if (
    !d ||
    typeof d.version !== 'number' ||
    typeof d.pair?.from !== 'string' ||
    !(typeof d.pair.to === 'string' || d.pair.to === null) ||
    !Array.isArray(d.retired)
  )
    throw new AppError('INTERNAL', `model state in ${where} is not a model state document`);
  return d as ModelState;
}
