/**
 * What masking costs per PostgreSQL DataRow, on one core: 200k rows of 5 text columns (id, name,
 * an email-like text that is not an email, a note, an amount), three variants side by side and
 * alternated so drift (JIT, GC, frequency) hits each alike:
 *
 * - baseline: copy the row's values (one Buffer.concat per row), the least a re-encoding
 *   network processor does with a row anyway;
 * - no matches: maskRow under a card + email profile, nothing to mask;
 * - 10% cards: the same, one row in ten carries a card number in its note.
 *
 *   node --import tsx ext-proc/postgres/result-masking.bench.ts
 */
import { compileProfile } from '../masking/compile-profile.ts';
import { rowMaskerFor, type ResultColumn } from './result-masking.ts';

const ROWS = 200_000;
const ROUNDS = 5;

const profile = compileProfile({
  name: 'bench',
  recognizers: [
    { use: 'card', strategy: 'keep-last-4' },
    { use: 'email', strategy: 'redact' },
  ],
});
const columns: ResultColumn[] = ['id', 'name', 'contact', 'note', 'amount'].map((name) => ({ name, typeOid: 25, format: 0 }));

function makeRows(cardEvery: number): Buffer[][] {
  const rows: Buffer[][] = [];
  for (let i = 0; i < ROWS; i++) {
    const note = cardEvery > 0 && i % cardEvery === 0 ? `paid with 4111 1111 1111 1111 on order ${i}` : `order ${i} shipped to warehouse ${i % 17}`;
    rows.push([
      Buffer.from(String(100_000 + i)),
      Buffer.from(`Customer ${i % 977} Example`),
      Buffer.from(`user${i} at example dot com`),
      Buffer.from(note),
      Buffer.from(`${(i % 10_000) / 100}`),
    ]);
  }
  return rows;
}

const plainRows = makeRows(0);
const cardRows = makeRows(10);

type Variant = { name: string; run: () => number };
const variants: Variant[] = [
  {
    name: 'baseline (Buffer.concat per row)',
    run: () => {
      let bytes = 0;
      for (const row of plainRows) bytes += Buffer.concat(row).length;
      return bytes;
    },
  },
  {
    name: 'maskRow, card+email, no matches',
    run: () => {
      const masker = rowMaskerFor(profile, columns);
      let changed = 0;
      for (const row of plainRows) if (masker.maskRow(row).changed) changed++;
      if (changed !== 0) throw new Error('unexpected matches');
      return changed;
    },
  },
  {
    name: 'maskRow, card+email, 10% rows with a card',
    run: () => {
      const masker = rowMaskerFor(profile, columns);
      let changed = 0;
      for (const row of cardRows) if (masker.maskRow(row).changed) changed++;
      if (changed !== ROWS / 10 || masker.matches().card !== ROWS / 10) throw new Error('wrong match count');
      return changed;
    },
  },
];

const samples = variants.map(() => [] as number[]);
variants.forEach((v) => v.run()); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  variants.forEach((v, i) => {
    const started = performance.now();
    v.run();
    samples[i]!.push(ROWS / ((performance.now() - started) / 1000));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
const base = median(samples[0]!);
console.log(`${ROWS.toLocaleString('en-US')} rows x 5 text columns, median of ${ROUNDS} alternated rounds`);
variants.forEach((v, i) => {
  const rate = median(samples[i]!);
  console.log(`${fmt(rate)} rows/s  ${(rate / base).toFixed(3).padStart(6)}x baseline  ${v.name}`);
});
