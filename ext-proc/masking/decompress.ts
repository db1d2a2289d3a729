import zlib from 'node:zlib';
import { SluiceError } from '../../common/errors.ts';
import { ZlibLayer, type DecompressCounters, type LayerLimits } from './zlib-layer.ts';

export interface DecompressLimits {
  /** Most decompressed bytes one body may produce (per coding layer). Default 64 MiB. */
  maxOutputBytes?: number;
  /** Most output bytes per compressed input byte. Default 100. */
  maxRatio?: number;
  /** Output below this is never refused for its ratio: small repetitive bodies compress very well. Default 1 MiB. */
  ratioGraceBytes?: number;
}

/** Decodes one body's Content-Encoding as it streams. Open one per body. */
export interface BodyDecompressor {
  /** Decompressed bytes available after this compressed chunk (possibly empty). */
  push(chunk: Buffer): Promise<Buffer>;
  /** The rest; fails if the compressed data is truncated. */
  end(): Promise<Buffer>;
  /** Frees zlib state early, e.g. when the stream is cancelled. */
  destroy(): void;
}

// More layers than this is no real-world encoding, only a way to multiply a bomb.
const MAX_LAYERS = 3;

const DEFAULTS: LayerLimits = { maxOutputBytes: 64 << 20, maxRatio: 100, ratioGraceBytes: 1 << 20 };

/**
 * A streaming decoder for a Content-Encoding value (`gzip`, `x-gzip`, `deflate`, `br`,
 * `identity`, or a list like `deflate, gzip`, decoded last-applied first). Fails with
 * ERR_BODY_DECOMPRESSION_LIMIT as soon as a layer's output passes maxOutputBytes or maxRatio
 * (decompression bombs), and with ERR_BODY_DECOMPRESSION_FAILED for an unsupported coding or
 * corrupt data. `deflate` accepts both the zlib format (RFC 1950, what the RFC means) and the
 * raw deflate some servers send, told apart by the zlib header.
 */
export function createDecompressor(contentEncoding: string | undefined, limits: DecompressLimits = {}): BodyDecompressor {
  const layerLimits: LayerLimits = { ...DEFAULTS, ...definedOnly(limits) };
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity')
    .reverse();
  if (codings.length > MAX_LAYERS) {
    throw new SluiceError('ERR_BODY_DECOMPRESSION_FAILED', `more than ${MAX_LAYERS} content codings`, {
      details: { encoding: contentEncoding, reason: 'too many layers' },
    });
  }
  const counters: DecompressCounters = { bytesIn: 0 };
  const layers = codings.map((coding) => layerFor(coding, layerLimits, counters));
  return {
    async push(chunk) {
      counters.bytesIn += chunk.length;
      let data = chunk;
      for (const layer of layers) data = await layer.push(data);
      return data;
    },
    async end() {
      let data: Buffer = Buffer.alloc(0);
      for (const layer of layers) {
        const head = data.length > 0 ? await layer.push(data) : data;
        const tail = await layer.end();
        data = head.length === 0 ? tail : Buffer.concat([head, tail]);
      }
      return data;
    },
    destroy() {
      for (const layer of layers) layer.destroy();
    },
  };
}

interface Layer {
  push(chunk: Buffer): Promise<Buffer>;
  end(): Promise<Buffer>;
  destroy(): void;
}

function layerFor(coding: string, limits: LayerLimits, counters: DecompressCounters): Layer {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return new ZlibLayer(zlib.createGunzip(), coding, limits, counters);
    case 'br':
      return new ZlibLayer(zlib.createBrotliDecompress(), coding, limits, counters);
    case 'deflate':
      return new DeflateLayer(limits, counters);
    default:
      throw new SluiceError('ERR_BODY_DECOMPRESSION_FAILED', `unsupported content coding "${coding}"`, {
        details: { encoding: coding, reason: 'unsupported' },
      });
  }
}

/** Waits for the first two bytes to tell a zlib header (RFC 1950) from raw deflate. */
class DeflateLayer implements Layer {
  private inner: ZlibLayer | null = null;
  private head = Buffer.alloc(0);

  constructor(
    private readonly limits: LayerLimits,
    private readonly counters: DecompressCounters,
  ) {}

  async push(chunk: Buffer): Promise<Buffer> {
    if (this.inner !== null) return this.inner.push(chunk);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 2) return Buffer.alloc(0);
    return this.start().push(this.head);
  }

  async end(): Promise<Buffer> {
    if (this.inner === null) {
      if (this.head.length === 0) return Buffer.alloc(0);
      const out = await this.start().push(this.head);
      return Buffer.concat([out, await this.inner!.end()]);
    }
    return this.inner.end();
  }

  destroy(): void {
    this.inner?.destroy();
  }

  private start(): ZlibLayer {
    const [cmf = 0, flg = 0] = this.head;
    const zlibWrapped = (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0;
    this.inner = new ZlibLayer(zlibWrapped ? zlib.createInflate() : zlib.createInflateRaw(), 'deflate', this.limits, this.counters);
    return this.inner;
  }
}

/** Checks the options eagerly, naming the bad one; they come from operator config. */
function definedOnly(limits: DecompressLimits): Partial<LayerLimits> {
  const out: Partial<LayerLimits> = {};
  for (const key of ['maxOutputBytes', 'maxRatio', 'ratioGraceBytes'] as const) {
    const value = limits[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SluiceError('ERR_CONFIG_INVALID', `decompression option ${key} must be a positive number`, {
        details: { option: key },
      });
    }
    out[key] = value;
  }
  return out;
}
