import { isItemFailure } from './item-errors.js';

/** What a decode worker does with one task. */
export type DecodeHandler = (payload: unknown) => Promise<{ value: unknown }>;

/**
 * The child side of a DecodePool: waits for `init`, builds the handler from it, says `ready`,
 * then answers tasks one at a time (the pool sends the next only after a reply).
 */
export function serveDecodeTasks(setup: (init: unknown) => Promise<DecodeHandler> | DecodeHandler): void {
  let handler: DecodeHandler | undefined;
  process.on('message', (m: { type?: string; init?: unknown; id?: number; payload?: unknown }) => {
    if (m.type === 'init') {
      void Promise.resolve(setup(m.init)).then((h) => {
        handler = h;
        process.send?.({ type: 'ready' });
      });
      return;
    }
    if (typeof m.id !== 'number' || !handler) return;
    const id = m.id;
    handler(m.payload).then(
      ({ value }) => process.send?.({ id, ok: true, value }),
      (err: unknown) =>
        process.send?.(
          isItemFailure(err)
            ? { id, ok: false, reason: err.reason, message: err.message }
            : { id, ok: false, message: err instanceof Error ? err.message : String(err) },
        ),
    );
  });
  // The parent going away (killed, crashed) must not leave decoders behind.
  process.on('disconnect', () => process.exit(0));
}
