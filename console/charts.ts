import { html, type Html } from './html.ts';
import type { DecisionBucket } from './decision-history.ts';

/*
 * Inline SVG pictures for the overview, drawn with presentation attributes only (the CSP allows
 * no inline style). Each has role="img" and a label that says in words what it shows, and every
 * number is also in a table beside it, so nothing is only a picture.
 */

const ALLOW = '#2f855a';
const DENY = '#c53030';
const BAR = '#2b6cb0';

/** Horizontal bars, largest first. */
export function barChart(label: string, entries: readonly { label: string; value: number }[], color = BAR): Html {
  if (entries.length === 0) return html`<p class="empty">Nothing yet.</p>`;
  const max = Math.max(...entries.map((e) => e.value));
  const row = 26;
  const width = 520;
  const labelWidth = 190;
  const height = entries.length * row + 4;
  const bars = entries.map((e, i) => {
    const w = Math.max(2, Math.round(((width - labelWidth - 60) * e.value) / max));
    const y = i * row + 4;
    return html`<text x="0" y="${y + 15}" font-size="13" fill="#1a202c">${e.label}</text><rect x="${labelWidth}" y="${y}" width="${w}" height="18" fill="${color}"><title>${e.label}: ${e.value}</title></rect><text x="${labelWidth + w + 6}" y="${y + 15}" font-size="13" fill="#1a202c">${e.value}</text>`;
  });
  const words = entries.map((e) => `${e.label} ${e.value}`).join(', ');
  return html`<svg role="img" aria-label="${`${label}: ${words}`}" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">${bars}</svg>`;
}

/** Per target, a row of stacked bars (allowed below, denied above), one per interval. */
export function decisionsOverTime(label: string, series: ReadonlyMap<string, readonly DecisionBucket[]>): Html {
  const targets = [...series.keys()].sort();
  const longest = Math.max(0, ...targets.map((t) => series.get(t)!.length));
  if (targets.length === 0 || longest === 0) return html`<p class="empty">No decisions sampled yet; the picture fills in as the counters are read.</p>`;
  const max = Math.max(1, ...targets.flatMap((t) => series.get(t)!.map((b) => b.allowed + b.denied)));
  const rowHeight = 48;
  const labelWidth = 110;
  const slot = Math.max(4, Math.floor((520 - labelWidth) / longest));
  const width = labelWidth + slot * longest;
  const rows = targets.map((target, r) => {
    const buckets = series.get(target)!;
    const base = r * rowHeight + rowHeight - 6;
    const offset = longest - buckets.length;
    const bars = buckets.map((b, i) => {
      const x = labelWidth + (offset + i) * slot;
      const ha = Math.round(((rowHeight - 12) * b.allowed) / max);
      const hd = Math.round(((rowHeight - 12) * b.denied) / max);
      const tip = `${new Date(b.at).toISOString().slice(11, 19)}: ${b.allowed} allowed, ${b.denied} denied`;
      return html`<g><title>${tip}</title><rect x="${x}" y="${base - ha}" width="${slot - 1}" height="${ha}" fill="${ALLOW}"/><rect x="${x}" y="${base - ha - hd}" width="${slot - 1}" height="${hd}" fill="${DENY}"/></g>`;
    });
    return html`<text x="0" y="${base - 4}" font-size="13" fill="#1a202c">${target}</text><line x1="${labelWidth}" y1="${base + 0.5}" x2="${width}" y2="${base + 0.5}" stroke="#a0aec0"/>${bars}`;
  });
  const words = targets.map((t) => {
    const b = series.get(t)!;
    return `${t} ${b.reduce((s, x) => s + x.allowed, 0)} allowed, ${b.reduce((s, x) => s + x.denied, 0)} denied`;
  }).join('; ');
  return html`<svg role="img" aria-label="${`${label}: ${words}`}" viewBox="0 0 ${width} ${targets.length * rowHeight}" width="100%" preserveAspectRatio="xMinYMin meet">${rows}</svg>
<p class="legend"><span class="key allow"></span> allowed <span class="key deny"></span> denied, one bar per interval</p>`;
}
