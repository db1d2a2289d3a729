import type { MaskingReport } from '../masking/types.ts';
import type { MaskedBody } from './masked-body.ts';

/** Where a body's bytes go for the session record. */
export interface BodySink {
  /** Keeps (part of) what was delivered; the sink caps it. */
  push(bytes: Buffer): void;
  /** Counts bytes the record may not hold (a body its profile refuses to read). */
  skip(byteCount: number): void;
  /** True once the sink stores nothing more, so masking a copy for it can stop. */
  readonly full: boolean;
}

/**
 * One direction's body through ext-proc. `deliver` masks what reaches the peer (its output is
 * also what gets recorded); without it the bytes pass untouched and the record keeps a masked
 * copy when the target has a profile, the raw bytes when it has none (or lets binary bodies
 * pass), or only their count when the profile refuses to read them (and once a masked copy has
 * filled the record). A readable body of a target with a profile is never recorded unmasked.
 */
export class BodyFlow {
  private copy: MaskedBody | undefined;
  /** The record copy's counts when it was dropped (the record was full): they stop there. */
  private copyMasked: MaskingReport | undefined;
  /** How the record gets bytes when nothing is delivered masked. */
  private recordAs: 'raw' | 'masked-copy' | 'count-only';

  constructor(
    private readonly deliver: MaskedBody | undefined,
    private readonly sink: BodySink | undefined,
    record: { copy: MaskedBody } | 'raw' | 'count-only',
  ) {
    this.copy = typeof record === 'object' ? record.copy : undefined;
    this.recordAs = typeof record === 'object' ? 'masked-copy' : record;
  }

  /**
   * Headers that no longer describe the body once it is masked: its length changes, and it
   * leaves decoded if it arrived compressed. None when the body passes unchanged.
   */
  staleHeaders(): string[] {
    if (this.deliver === undefined) return [];
    return this.deliver.decodes ? ['content-length', 'content-encoding'] : ['content-length'];
  }

  /** The bytes to send on in place of `chunk`, or undefined to let `chunk` pass unchanged. */
  async push(chunk: Buffer, last: boolean): Promise<Buffer | undefined> {
    if (this.deliver) {
      const out = await this.deliver.push(chunk, last);
      this.sink?.push(out);
      // Unchanged (a scrub that found nothing): Envoy keeps its own bytes, none are sent back.
      return out === chunk ? undefined : out;
    }
    if (!this.sink) return undefined;
    if (this.recordAs === 'masked-copy' && this.sink.full) {
      // The record is full: stop paying for a masked copy nobody keeps.
      this.copyMasked = this.copy?.masked();
      this.copy?.destroy();
      this.copy = undefined;
      this.recordAs = 'count-only';
    }
    if (this.recordAs === 'raw') this.sink.push(chunk);
    else if (this.recordAs === 'count-only') this.sink.skip(chunk.length);
    else this.sink.push(await this.copy!.push(chunk, last));
    return undefined;
  }

  matches(): number {
    return this.deliver?.matches() ?? 0;
  }

  /** Bytes the profile's masker read on their way to the peer (0 when no profile masks them). */
  maskedBytes(): number {
    return this.deliver?.maskedBytes ?? 0;
  }

  /** Echoes of the injected credential removed from the delivered body. */
  echoes(): number {
    return this.deliver?.echoes ?? 0;
  }

  /**
   * What was masked in this body, for the record's masking report: the delivery masker's counts
   * (`delivered`: the peer got these masked), else the record copy's (the peer got the body as
   * it was; the counts say what the record hides). Undefined when nothing was masked either way.
   */
  masking(): { masked: MaskingReport; delivered: boolean } | undefined {
    // Only the credential scrub ran (no profile masks this body): a report only if it found an echo.
    if (this.deliver && !this.deliver.masksProfile) return this.deliver.echoes > 0 ? { masked: this.deliver.masked(), delivered: true } : undefined;
    if (this.deliver) return { masked: this.deliver.masked(), delivered: true };
    const copied = this.copy?.masked() ?? this.copyMasked;
    return copied === undefined ? undefined : { masked: copied, delivered: false };
  }

  destroy(): void {
    this.deliver?.destroy();
    this.copy?.destroy();
  }
}
