import { createServer, type Server } from 'node:http';
import { listen, closeServer } from '../../common/http.ts';

/**
 * Upstream for the masking bench: `/big?mb=N` streams N MB of JSON lines with PII sprinkled in
 * (an email every 8th line, a card every 32nd), generated on the fly in 64 KiB writes with
 * back-pressure; `/small` answers ~1 KB of JSON holding one email.
 */
export async function startJsonUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const lines: string[] = [];
  for (let i = 0; i < 64; i++) {
    const extra = i % 32 === 0 ? ',"card":"4111 1111 1111 1111"' : i % 8 === 0 ? `,"email":"user${i}@example.com"` : '';
    lines.push(`{"id":${i},"name":"customer ${i}","status":"active","balance":${(i * 37.5).toFixed(2)},"note":"regular account, no flags"${extra}}\n`);
  }
  const block = Buffer.from(lines.join('').repeat(Math.ceil(65536 / lines.join('').length))).subarray(0, 65536);
  const small = Buffer.from(JSON.stringify({ id: 1, name: 'Ada', email: 'ada@example.com', items: Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${i}`, qty: i })) }));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/small')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': small.length });
      res.end(small);
      return;
    }
    const total = Number(url.searchParams.get('mb') ?? 1) * 1024 * 1024;
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const chunk = total - sent >= block.length ? block : block.subarray(0, total - sent);
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const port = await listen(server, 0);
  return { port, close: () => closeServer(server) };
}
