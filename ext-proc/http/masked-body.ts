import { createDecompressor, maskerFor, type BodyDecompressor, type MaskingProfile, type StreamMasker } from '../masking/index.ts';
import type { MaskingReport } from '../masking/types.ts';
import { CredentialScrubber } from './credential-scrubber.ts';

/** The masking report's entry for echoes of the injected credential (no profile entry has a colon). */
export const CREDENTIAL_ENTRY = 'sluice:credential';

/**
 * What happens to one body (response, or request when the profile masks those), decided from its
 * headers: masked as it streams (after decoding its Content-Encoding, so compressed bodies are
 * masked too, never passed through), passed untouched (no profile, or a binary body the profile
 * lets pass), or refused. A response of an exchange that injected a credential never passes
 * untouched: `injected` is scrubbed out of it (decoded first, like masking) before the profile's
 * masker sees it, whatever the profile says.
 */
export type BodyPlan =
  | { kind: 'pass' }
  | { kind: 'refuse'; reason: string }
  | { kind: 'mask'; body: MaskedBody };

export function planBody(profile: MaskingProfile | undefined, headers: Readonly<Record<string, string>>, injected?: string): BodyPlan {
  const scrubber = injected === undefined || injected === '' ? undefined : new CredentialScrubber(injected);
  const treatment = profile ? maskerFor(headers['content-type'], profile) : { action: 'pass' as const };
  if (treatment.action === 'refuse') return { kind: 'refuse', reason: treatment.reason };
  if (treatment.action === 'pass' && !scrubber) return { kind: 'pass' };
  // An encoding the decoder does not know throws (ERR_BODY_DECOMPRESSION_FAILED): the exchange
  // fails rather than pass a body nobody could read, as masking does.
  const encoding = headers['content-encoding'];
  const decoder = encoding && encoding.toLowerCase() !== 'identity' ? createDecompressor(encoding) : undefined;
  return { kind: 'mask', body: new MaskedBody(treatment.action === 'pass' ? undefined : treatment.open(), decoder, scrubber) };
}

/**
 * One body on its way: decode, scrub the injected credential, mask with the profile, emit; memory
 * bounded by the masker's window (and the scrubber's, under the credential's length).
 */
export class MaskedBody {
  constructor(
    private readonly masker: StreamMasker | undefined,
    private readonly decoder: BodyDecompressor | undefined,
    private readonly scrubber?: CredentialScrubber,
  ) {}

  /** True when a profile masks this body (not only the credential scrub). */
  get masksProfile(): boolean {
    return this.masker !== undefined;
  }

  /** Bytes the profile's masker has read so far (decoded), 0 without a profile. */
  get maskedBytes(): number {
    return this.masker?.stats().bytesIn ?? 0;
  }

  /** Echoes of the injected credential removed so far. */
  get echoes(): number {
    return this.scrubber?.echoes ?? 0;
  }

  /** True when the body arrives encoded and leaves decoded (Content-Encoding must go). */
  get decodes(): boolean {
    return this.decoder !== undefined;
  }

  /** The bytes to send on; `chunk` itself (the same buffer) when it passes unchanged. */
  async push(chunk: Buffer, last: boolean): Promise<Buffer> {
    let plain = this.decoder ? await this.decoder.push(chunk) : chunk;
    if (last && this.decoder) plain = Buffer.concat([plain, await this.decoder.end()]);
    if (this.scrubber) plain = this.scrubber.push(plain, last);
    if (!this.masker) return plain;
    const masked = this.masker.push(plain);
    return last ? Buffer.concat([masked, this.masker.end()]) : masked;
  }

  matches(): number {
    return (this.masker?.stats().matches ?? 0) + this.echoes;
  }

  /** Values masked so far, per entry (final once the last chunk was pushed); echoes of the credential as CREDENTIAL_ENTRY. */
  masked(): MaskingReport {
    const report = this.masker?.stats().masked ?? {};
    return this.echoes === 0 ? report : { ...report, [CREDENTIAL_ENTRY]: this.echoes };
  }

  destroy(): void {
    this.decoder?.destroy();
  }
}
