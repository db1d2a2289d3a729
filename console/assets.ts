import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { HttpRefusal } from '../common/http-refusal.ts';

/** The console's static files, read once at start: served from here, never from a CDN. */
const FILES: Readonly<Record<string, { type: string; body: Buffer }>> = Object.freeze({
  'console.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./assets/console.js', import.meta.url)) },
  'console.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./assets/console.css', import.meta.url)) },
});

export function sendAsset(res: ServerResponse, name: string): void {
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (file === undefined) throw new HttpRefusal(404, 'ERR_ROUTE_NOT_FOUND', `no console asset ${name.slice(0, 64)}`);
  res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  res.end(file.body);
}
