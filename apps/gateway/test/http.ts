import { checkResponse } from './openapi-validator.js';

/** A response as the tests see it. */
export interface Res {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Calls the gateway and checks the answer against the OpenAPI document (`template` names the documented path). */
export async function call(
  base: string,
  template: string,
  method: string,
  path: string,
  init: { json?: unknown; body?: string | FormData; headers?: Record<string, string>; token?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  checkResponse(template, method, res.status, parsed);
  return { status: res.status, headers: res.headers, body: parsed };
}
