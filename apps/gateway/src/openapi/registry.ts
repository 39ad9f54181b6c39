import { z } from 'zod';

/** What a named component of the API document carries besides its schema. */
export interface ComponentMeta {
  description?: string;
  examples?: unknown[];
}

// zod keeps `.describe()` texts in its global registry, so components live there too (one registry feeds the
// generator); `ids` says which of its entries are this document's.
const ids = new Map<z.ZodType, string>();

/**
 * Registers a zod schema as the component `id` of the OpenAPI document and returns the same schema (the
 * instance the router validates with, not a copy as `.meta()` would return).
 */
export function component<S extends z.ZodType>(id: string, schema: S, meta: ComponentMeta = {}): S {
  z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id, ...meta });
  ids.set(schema, id);
  return schema;
}

/** The component id a schema was registered under; throws for an unregistered schema (a dangling $ref otherwise). */
export function componentId(schema: z.ZodType): string {
  const id = ids.get(schema);
  if (!id) throw new Error('OpenAPI: this schema is not registered as a component (use component())');
  return id;
}

/** The ids of every registered component. */
export function componentIds(): Set<string> {
  return new Set(ids.values());
}
