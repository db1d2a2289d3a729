import type { IncomingMessage } from 'node:http';
import { readBody } from '../common/http.ts';
import { ConsoleError } from './errors.ts';

const MAX_FORM_BYTES = 16 * 1024;

/** A console POST body: a JSON object (from the page's script) or a urlencoded form. Values are strings. */
export async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let raw: string;
  try {
    raw = (await readBody(req, MAX_FORM_BYTES)).toString('utf8');
  } catch {
    throw new ConsoleError('ERR_CONSOLE_INVALID', `the form is larger than ${MAX_FORM_BYTES} bytes`);
  }
  const type = req.headers['content-type'] ?? '';
  const out: Record<string, string> = {};
  if (type.startsWith('application/json')) {
    let body: unknown;
    try {
      body = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch {
      throw new ConsoleError('ERR_CONSOLE_INVALID', 'the body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ConsoleError('ERR_CONSOLE_INVALID', 'the body must be a JSON object');
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
    return out;
  }
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  return out;
}
