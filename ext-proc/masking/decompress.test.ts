import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { createDecompressor, type DecompressLimits } from './decompress.ts';

const text = Buffer.from('{"user":"zoë","email":"a@example.com"}\n'.repeat(2000));

/** Feeds `data` in `size`-byte chunks; returns the output or the error code. */
async function inflate(encoding: string, data: Buffer, size = 1024, limits?: DecompressLimits): Promise<Buffer | string> {
  const d = createDecompressor(encoding, limits);
  const out: Buffer[] = [];
  try {
    for (let at = 0; at < data.length; at += size) out.push(await d.push(data.subarray(at, at + size)));
    out.push(await d.end());
    return Buffer.concat(out);
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('createDecompressor', () => {
  it('decodes gzip, deflate (zlib and raw), br, identity and stacked codings in any chunking', async () => {
    const cases: [string, Buffer][] = [
      ['gzip', zlib.gzipSync(text)],
      ['x-gzip', zlib.gzipSync(text)],
      ['deflate', zlib.deflateSync(text)],
      ['deflate', zlib.deflateRawSync(text)],
      ['br', zlib.brotliCompressSync(text)],
      ['identity', text],
      ['', text],
      ['deflate, gzip', zlib.gzipSync(zlib.deflateSync(text))],
    ];
    for (const [encoding, data] of cases) {
      for (const size of [1, 7, 4096, data.length]) {
        const out = await inflate(encoding, data, size);
        assert.ok(Buffer.isBuffer(out) && out.equals(text), `${encoding} in ${size}-byte chunks: ${typeof out === 'string' ? out : out.length}`);
      }
    }
  });

  it('refuses a gzip bomb (1 GiB of zeros) quickly, holding little', async () => {
    // 1024 gzip members of 1 MiB of zeros each: ~1 MiB on the wire, 1 GiB inflated.
    const member = zlib.gzipSync(Buffer.alloc(1 << 20));
    const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
    for (const limits of [{ maxOutputBytes: 8 << 20, maxRatio: 1e9 }, {}]) {
      const started = performance.now();
      const d = createDecompressor('gzip', limits);
      let produced = 0;
      let code = '';
      try {
        for (let at = 0; at < bomb.length; at += 65536) produced += (await d.push(bomb.subarray(at, at + 65536))).length;
        await d.end();
      } catch (err) {
        code = (err as { code: string }).code;
        assert.ok(['maxOutputBytes', 'maxRatio'].includes((err as { details: { limit: string } }).details.limit));
      }
      assert.equal(code, 'ERR_BODY_DECOMPRESSION_LIMIT');
      assert.ok(produced <= (8 << 20), `handed out ${produced} bytes`);
      assert.ok(performance.now() - started < 2000, 'refused quickly');
    }
  });

  it('refuses a brotli bomb and a bomb hidden under a second coding', async () => {
    const zeros = Buffer.alloc(64 << 20);
    const br = zlib.brotliCompressSync(zeros, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
    assert.equal(await inflate('br', br, 65536, { maxOutputBytes: 4 << 20 }), 'ERR_BODY_DECOMPRESSION_LIMIT');
    const nested = zlib.gzipSync(zlib.gzipSync(Buffer.alloc(16 << 20)));
    assert.equal(await inflate('gzip, gzip', nested, 65536, { maxOutputBytes: 1 << 20, maxRatio: 1e9 }), 'ERR_BODY_DECOMPRESSION_LIMIT');
  });

  it('lets a small, very compressible body through the ratio check', async () => {
    const small = Buffer.alloc(512 << 10, 'a');
    const out = await inflate('gzip', zlib.gzipSync(small));
    assert.ok(Buffer.isBuffer(out) && out.equals(small));
  });

  it('reports corrupt or truncated data and unsupported codings', async () => {
    assert.equal(await inflate('gzip', Buffer.from('definitely not gzip')), 'ERR_BODY_DECOMPRESSION_FAILED');
    const gz = zlib.gzipSync(text);
    assert.equal(await inflate('gzip', gz.subarray(0, gz.length - 20)), 'ERR_BODY_DECOMPRESSION_FAILED');
    assert.throws(() => createDecompressor('compress'), { code: 'ERR_BODY_DECOMPRESSION_FAILED' });
    assert.throws(() => createDecompressor('gzip, gzip, gzip, gzip'), { code: 'ERR_BODY_DECOMPRESSION_FAILED' });
    assert.throws(() => createDecompressor('gzip', { maxRatio: -1 }), { code: 'ERR_CONFIG_INVALID' });
  });
});
