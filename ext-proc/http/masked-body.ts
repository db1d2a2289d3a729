import { createDecompressor, maskerFor, type BodyDecompressor, type MaskingProfile, type StreamMasker } from '../masking/index.ts';
import type { MaskingReport } from '../masking/types.ts';

/**
 * What happens to one body (response, or request when the profile masks those), decided from its
 * headers: masked as it streams (after decoding its Content-Encoding, so compressed bodies are
 * masked too, never passed through), passed untouched (no profile, or a binary body the profile
 * lets pass), or refused.
 */
export type BodyPlan =
  | { kind: 'pass' }
  | { kind: 'refuse'; reason: string }
  | { kind: 'mask'; body: MaskedBody };

export function planBody(profile: MaskingProfile | undefined, headers: Readonly<Record<string, string>>): BodyPlan {
  if (!profile) return { kind: 'pass' };
  const treatment = maskerFor(headers['content-type'], profile);
  if (treatment.action === 'pass') return { kind: 'pass' };
  if (treatment.action === 'refuse') return { kind: 'refuse', reason: treatment.reason };
  const encoding = headers['content-encoding'];
  const decoder = encoding && encoding.toLowerCase() !== 'identity' ? createDecompressor(encoding) : undefined;
  return { kind: 'mask', body: new MaskedBody(treatment.open(), decoder) };
}

/** One body being masked: decode, mask, emit; memory bounded by the masker's window. */
export class MaskedBody {
  constructor(private readonly masker: StreamMasker, private readonly decoder: BodyDecompressor | undefined) {}

  /** True when the body arrives encoded and leaves decoded (Content-Encoding must go). */
  get decodes(): boolean {
    return this.decoder !== undefined;
  }

  async push(chunk: Buffer, last: boolean): Promise<Buffer> {
    let plain = this.decoder ? await this.decoder.push(chunk) : chunk;
    if (last && this.decoder) plain = Buffer.concat([plain, await this.decoder.end()]);
    const masked = this.masker.push(plain);
    return last ? Buffer.concat([masked, this.masker.end()]) : masked;
  }

  matches(): number {
    return this.masker.stats().matches;
  }

  /** Values masked so far, per entry (final once the last chunk was pushed). */
  masked(): MaskingReport {
    return this.masker.stats().masked;
  }

  destroy(): void {
    this.decoder?.destroy();
  }
}
