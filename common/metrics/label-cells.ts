/**
 * The cells of one metric family, one per combination of label values, found through a trie of
 * Maps keyed by the values themselves: a lookup builds no string and allocates nothing once the
 * cell exists. Past `maxSeries` combinations every new one shares a single cell whose labels all
 * read OVERFLOW, so a label fed something unbounded by mistake costs a bounded amount of memory
 * and shows up on the dashboard instead of taking Prometheus down.
 */
export const OVERFLOW = '_overflow';

/** Default bound on a family's series; the largest real family (decisions) is targets × codes. */
export const DEFAULT_MAX_SERIES = 2000;

export interface Series<C> {
  readonly labels: Readonly<Record<string, string>>;
  readonly cell: C;
}

export class LabelCells<C> {
  readonly #names: readonly string[];
  readonly #make: (labels: Readonly<Record<string, string>>) => C;
  readonly #maxSeries: number;
  readonly #root = new Map<string, unknown>();
  readonly #series: Series<C>[] = [];
  #only: C | undefined;
  #overflow: C | undefined;

  constructor(names: readonly string[], make: (labels: Readonly<Record<string, string>>) => C, maxSeries = DEFAULT_MAX_SERIES) {
    this.#names = names;
    this.#make = make;
    this.#maxSeries = maxSeries;
  }

  /** The cell for these label values (one per label name, in order), made on first use. */
  get(values: readonly string[]): C {
    if (values.length !== this.#names.length) throw new TypeError(`expected ${this.#names.length} label values (${this.#names.join(', ')}), got ${values.length}`);
    if (values.length === 0) return (this.#only ??= this.#add(values));
    let node = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) {
        if (this.#full()) return this.#overflowCell();
        next = new Map();
        node.set(values[i]!, next);
      }
      node = next;
    }
    let cell = node.get(values[last]!) as C | undefined;
    if (cell === undefined) {
      if (this.#full()) return this.#overflowCell();
      cell = this.#add(values);
      node.set(values[last]!, cell);
    }
    return cell;
  }

  /** Every series so far, in the order first seen. */
  series(): readonly Series<C>[] {
    return this.#series;
  }

  #full(): boolean {
    return this.#series.length >= this.#maxSeries;
  }

  #overflowCell(): C {
    return (this.#overflow ??= this.#add(this.#names.map(() => OVERFLOW)));
  }

  #add(values: readonly string[]): C {
    const labels = Object.freeze(Object.fromEntries(this.#names.map((name, i) => [name, values[i]!])));
    const cell = this.#make(labels);
    this.#series.push({ labels, cell });
    return cell;
  }
}
