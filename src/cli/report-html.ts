// The report as one self-contained HTML page: inline CSS and inline SVG charts, no scripts, fonts or images from
// anywhere else, so it can be mailed, attached to a ticket or opened offline.
import { truncate } from '../core/text';
import { formatDuration, outcomeColumns, type Counted, type Report } from './report-model';

const COLORS: Record<string, string> = {
  CONFIRMED: '#2e7d32',
  APPROVED: '#66bb6a',
  DENIED: '#c62828',
  TIMED_OUT: '#ef6c00',
  REVERTED: '#6a1b9a',
  REVERT_FAILED: '#4a148c',
  ESCALATED: '#ad1457',
  NOTIFIED: '#0277bd',
  PENDING: '#9e9e9e',
};
const OTHER_COLOR = '#546e7a';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const color = (outcome: string): string => COLORS[outcome] ?? OTHER_COLOR;
const pct = (share: number | null): string => (share === null ? '—' : `${Math.round(share * 100)}%`);

/** One horizontal bar per row, split by outcome. */
function stackedBars(rows: Counted[], columns: string[], noisy: string[]): string {
  if (rows.length === 0) return '<p class="empty">No reviews in this period.</p>';
  const labelW = 220;
  const barW = 520;
  const rowH = 26;
  const max = Math.max(...rows.map((r) => r.total));
  const height = rows.length * rowH + 10;
  const bars = rows
    .map((r, i) => {
      const y = i * rowH + 4;
      let x = labelW;
      const segments = columns
        .map((o) => {
          const n = r.outcomes[o] ?? 0;
          if (n === 0) return '';
          const w = (n / max) * barW;
          const seg = `<rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(w, 1).toFixed(1)}" height="${rowH - 8}" fill="${color(o)}"><title>${escapeHtml(`${r.key}: ${n} ${o}`)}</title></rect>`;
          x += w;
          return seg;
        })
        .join('');
      const label = `${r.key}${noisy.includes(r.key) ? ' ⚠' : ''}`;
      return (
        `<text x="${labelW - 8}" y="${y + rowH / 2}" text-anchor="end" class="lbl">${escapeHtml(truncate(label, 32))}</text>` +
        segments +
        `<text x="${(x + 6).toFixed(1)}" y="${y + rowH / 2}" class="num">${r.total}</text>`
      );
    })
    .join('');
  return `<svg role="img" aria-label="Outcomes by rule" viewBox="0 0 ${labelW + barW + 60} ${height}" width="100%">${bars}</svg>`;
}

/** Confirmed share per rule, 0–100 %, with the noisy threshold marked. */
function shareBars(rows: Counted[], noisy: string[]): string {
  const finished = rows.filter((r) => r.confirmedShare !== null);
  if (finished.length === 0) return '<p class="empty">No finished reviews yet.</p>';
  const labelW = 220;
  const barW = 520;
  const rowH = 24;
  const height = finished.length * rowH + 24;
  const threshold = labelW + 0.8 * barW;
  const bars = finished
    .map((r, i) => {
      const y = i * rowH + 4;
      const share = r.confirmedShare ?? 0;
      const fill = noisy.includes(r.key) ? '#ef6c00' : '#2e7d32';
      return (
        `<text x="${labelW - 8}" y="${y + rowH / 2}" text-anchor="end" class="lbl">${escapeHtml(truncate(r.key, 32))}</text>` +
        `<rect x="${labelW}" y="${y}" width="${barW}" height="${rowH - 8}" fill="#eceff1"/>` +
        `<rect x="${labelW}" y="${y}" width="${(share * barW).toFixed(1)}" height="${rowH - 8}" fill="${fill}"><title>${escapeHtml(`${r.key}: ${pct(share)} confirmed of ${r.total - (r.outcomes.PENDING ?? 0)} finished`)}</title></rect>` +
        `<text x="${labelW + barW + 6}" y="${y + rowH / 2}" class="num">${pct(share)}</text>`
      );
    })
    .join('');
  const line = `<line x1="${threshold}" y1="0" x2="${threshold}" y2="${height - 16}" stroke="#ef6c00" stroke-dasharray="4 3"/><text x="${threshold}" y="${height - 4}" text-anchor="middle" class="axis">80% — noisy above</text>`;
  return `<svg role="img" aria-label="Confirmed share by rule" viewBox="0 0 ${labelW + barW + 60} ${height}" width="100%">${bars}${line}</svg>`;
}

function columnChart(points: { label: string; value: number; title: string }[], aria: string, colorFill: string): string {
  if (points.length === 0) return '<p class="empty">No data.</p>';
  const w = 760;
  const h = 200;
  const top = 16;
  const bottom = 34;
  const left = 36;
  const max = Math.max(1, ...points.map((p) => p.value));
  const slot = (w - left) / points.length;
  const barW = Math.min(60, slot * 0.7);
  const ticks = [0, Math.ceil(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const axis = ticks
    .map((t) => {
      const y = top + (h - top - bottom) * (1 - t / max);
      return `<line x1="${left}" x2="${w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eceff1"/><text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="axis">${t}</text>`;
    })
    .join('');
  const bars = points
    .map((p, i) => {
      const bh = ((h - top - bottom) * p.value) / max;
      const x = left + i * slot + (slot - barW) / 2;
      const y = h - bottom - bh;
      return (
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(bh, p.value > 0 ? 1 : 0).toFixed(1)}" fill="${colorFill}"><title>${escapeHtml(p.title)}</title></rect>` +
        (p.value > 0 ? `<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" class="num">${p.value}</text>` : '') +
        `<text x="${(x + barW / 2).toFixed(1)}" y="${h - bottom + 16}" text-anchor="middle" class="axis">${escapeHtml(p.label)}</text>`
      );
    })
    .join('');
  return `<svg role="img" aria-label="${escapeHtml(aria)}" viewBox="0 0 ${w} ${h}" width="100%">${axis}${bars}</svg>`;
}

const TTC_BUCKETS: { label: string; upTo: number }[] = [
  { label: '< 1 min', upTo: 60 },
  { label: '1–5 min', upTo: 300 },
  { label: '5–10 min', upTo: 600 },
  { label: '10–15 min', upTo: 900 },
  { label: '15–30 min', upTo: 1800 },
  { label: '> 30 min', upTo: Infinity },
];

function ttcChart(samples: number[]): string {
  const counts = TTC_BUCKETS.map(() => 0);
  for (const s of samples) {
    const i = TTC_BUCKETS.findIndex((b) => s < b.upTo);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return columnChart(
    TTC_BUCKETS.map((b, i) => ({ label: b.label, value: counts[i] ?? 0, title: `${counts[i] ?? 0} confirmed in ${b.label}` })),
    'Time to confirm',
    '#2e7d32',
  );
}

function countedTable(rows: Counted[], columns: string[], noisy: string[] = []): string {
  if (rows.length === 0) return '<p class="empty">No reviews in this period.</p>';
  const head = `<tr><th></th><th>reviews</th>${columns.map((c) => `<th><span class="dot" style="background:${color(c)}"></span>${escapeHtml(c.toLowerCase())}</th>`).join('')}<th>% confirmed</th></tr>`;
  const body = rows
    .map(
      (r) =>
        `<tr${noisy.includes(r.key) ? ' class="noisy"' : ''}><td>${escapeHtml(r.key)}${noisy.includes(r.key) ? ' <b>noisy?</b>' : ''}</td><td>${r.total}</td>${columns
          .map((c) => `<td>${r.outcomes[c] ?? 0}</td>`)
          .join('')}<td>${pct(r.confirmedShare)}</td></tr>`,
    )
    .join('');
  return `<table>${head}${body}</table>`;
}

function legend(columns: string[]): string {
  return `<div class="legend">${columns.map((c) => `<span><span class="dot" style="background:${color(c)}"></span>${escapeHtml(c)}</span>`).join('')}</div>`;
}


export function renderHtml(report: Report): string {
  const columns = outcomeColumns(report);
  const pages = report.pagesPerWeek.reduce((n, w) => n + w.pages, 0);
  const confirmed = report.outcomes.CONFIRMED ?? 0;
  const period = `${report.since.toISOString().slice(0, 16).replace('T', ' ')} – ${report.until.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const card = (value: string, label: string): string => `<div class="card"><div class="v">${escapeHtml(value)}</div><div class="l">${escapeHtml(label)}</div></div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vouch report ${escapeHtml(period)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #263238; margin: 0; background: #fafafa; }
  main { max-width: 980px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
  .sub { color: #607d8b; margin-bottom: 16px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; }
  .card { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 10px 16px; flex: 1 1 0; min-width: 100px; }
  .card .v { font-size: 22px; font-weight: 600; } .card .l { color: #607d8b; font-size: 12px; }
  section { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 16px 16px; margin-top: 16px; }
  svg text { font: 12px system-ui, sans-serif; fill: #263238; } svg .lbl { dominant-baseline: middle; }
  svg .num { dominant-baseline: middle; font-weight: 600; } svg .axis { fill: #78909c; font-size: 11px; }
  table { border-collapse: collapse; width: 100%; } th, td { padding: 4px 8px; border-bottom: 1px solid #eceff1; text-align: right; }
  th:first-child, td:first-child { text-align: left; } th { color: #607d8b; font-weight: 500; font-size: 12px; }
  tr.noisy td { background: #fff3e0; } .dot { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 4px; }
  .legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: 12px; color: #455a64; margin: 4px 0 8px; }
  .empty, .note { color: #78909c; } .warn { color: #e65100; }
</style>
</head>
<body>
<main>
<h1>vouch report</h1>
<div class="sub">Reviews started ${escapeHtml(period)}${report.truncated ? ` <span class="warn">(stopped at ${report.total} reviews; narrow the period)</span>` : ''}</div>
<div class="cards">
${card(String(report.total), 'reviews')}
${card(String(confirmed), 'confirmed')}
${card(String(report.open), 'still open')}
${card(String(pages), 'pages')}
${card(formatDuration(report.timeToConfirm.p50), 'time to confirm p50')}
${card(formatDuration(report.timeToConfirm.p90), 'time to confirm p90')}
</div>

<section><h2>Outcomes by rule</h2>${legend(columns)}${stackedBars(report.byRule, columns, report.noisyRules)}</section>

<section><h2>Share of each rule's finished reviews confirmed by the engineer</h2>
<p class="note">A rule whose reviews are nearly always "yes, this was me" asks people about their own intended changes: it is noisy.${report.noisyRules.length ? ` <b class="warn">Noisy: ${escapeHtml(report.noisyRules.join(', '))}.</b>` : ''}</p>
${shareBars(report.byRule, report.noisyRules)}</section>

<section><h2>Pages per week</h2><p class="note">Finished reviews that paged security, by the UTC week (from Monday) they started.</p>
${columnChart(report.pagesPerWeek.map((w) => ({ label: w.week, value: w.pages, title: `week of ${w.week}: ${w.pages} page(s), ${w.reviews} review(s)` })), 'Pages per week', '#c62828')}</section>

<section><h2>Time to confirm</h2><p class="note">From the start of a review to its confirmation: p50 ${escapeHtml(formatDuration(report.timeToConfirm.p50))}, p90 ${escapeHtml(formatDuration(report.timeToConfirm.p90))}, over ${report.timeToConfirm.count} confirmed review(s).</p>
${ttcChart(report.timeToConfirm.samples)}</section>

<section><h2>By rule</h2>${countedTable(report.byRule, columns, report.noisyRules)}</section>
<section><h2>By account</h2>${countedTable(report.byAccount, columns)}</section>
<section><h2>By team</h2>${report.teamsConfigured ? '' : '<p class="note">No teams file: every actor is "unknown". Set VOUCH_TEAMS_FILE or pass --teams.</p>'}${countedTable(report.byTeam, columns)}</section>
</main>
</body>
</html>
`;
}
