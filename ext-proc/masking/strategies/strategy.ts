/** Turns an accepted match into its replacement. One instance per profile entry. */
export interface Strategy {
  /** `redact`, `keep-last-4`, `hash`: for logs and the profile summary. */
  readonly label: string;
  /** `value` is the raw match; `canonical` the recognizer's normalised form (for hashing). */
  render(value: Buffer, canonical: Buffer): Buffer;
}
