/** Small SVG charts as strings (no chart library: the page stays light). Values are numbers; text is escaped. */

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Draw each series as steps (a value holds until the next point). */
  readonly stepped?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e4) ? v.toExponential(1) : String(Number(v.toFixed(2)));
}

/** A line chart of several series over a shared x axis. */
export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 500;
  const H = o.height ?? 220;
  const m = { l: 44, r: 10, t: 24, b: 34 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => y);
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(x0 + 1, ...xs);
  let y0 = o.yMin ?? Math.min(...ys, 0);
  let y1 = o.yMax ?? Math.max(...ys, y0 + 1e-9);
  if (!(y1 > y0)) {
    y0 -= 1;
    y1 += 1;
  }
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<text x="${m.l}" y="15" class="title">${escapeHtml(o.title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" class="axis"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" class="axis"/>`,
    `<text x="${m.l - 4}" y="${Y(y1) + 4}" class="tick" text-anchor="end">${fmt(y1)}</text>`,
    `<text x="${m.l - 4}" y="${Y(y0) + 4}" class="tick" text-anchor="end">${fmt(y0)}</text>`,
    `<text x="${X(x0)}" y="${H - m.b + 14}" class="tick" text-anchor="middle">${fmt(x0)}</text>`,
    `<text x="${X(x1)}" y="${H - m.b + 14}" class="tick" text-anchor="end">${fmt(x1)}</text>`,
    `<text x="${(W + m.l) / 2}" y="${H - 4}" class="tick" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`,
  ];
  series.forEach((s, k) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length > 0) {
      let d = `M${X(p[0]![0])},${Y(p[0]![1])}`;
      for (let i = 1; i < p.length; i++) {
        if (o.stepped) d += ` H${X(p[i]![0])}`;
        d += ` L${X(p[i]![0])},${Y(p[i]![1])}`;
      }
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      for (const [x, y] of p) parts.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="2.5" fill="${s.color}"/>`);
    }
    parts.push(
      `<rect x="${W - m.r - 90 * (series.length - k)}" y="6" width="10" height="10" fill="${s.color}"/>`,
      `<text x="${W - m.r - 90 * (series.length - k) + 14}" y="15" class="tick">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

export interface BoxRow {
  readonly step: number;
  readonly min: number;
  readonly q25: number;
  readonly median: number;
  readonly q75: number;
  readonly max: number;
}

/** Box plots (min, quartiles, max) of a score distribution over steps. */
export function boxChart(rows: readonly BoxRow[], o: ChartOptions & { readonly color: string }): string {
  const W = o.width ?? 500;
  const H = o.height ?? 220;
  const m = { l: 44, r: 10, t: 24, b: 34 };
  const finite = rows.filter((r) => [r.min, r.max].every(Number.isFinite));
  const y0 = Math.min(...finite.map((r) => r.min), 0);
  const y1 = Math.max(...finite.map((r) => r.max), y0 + 1e-9);
  const x1 = Math.max(1, ...finite.map((r) => r.step));
  const X = (x: number) => m.l + (x / (x1 + 1)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const bw = Math.max(3, Math.min(14, (W - m.l - m.r) / (x1 + 1) / 2));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<text x="${m.l}" y="15" class="title">${escapeHtml(o.title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" class="axis"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" class="axis"/>`,
    `<text x="${m.l - 4}" y="${Y(y1) + 4}" class="tick" text-anchor="end">${fmt(y1)}</text>`,
    `<text x="${m.l - 4}" y="${Y(y0) + 4}" class="tick" text-anchor="end">${fmt(y0)}</text>`,
    `<text x="${(W + m.l) / 2}" y="${H - 4}" class="tick" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`,
  ];
  for (const r of finite) {
    const x = X(r.step);
    parts.push(
      `<line x1="${x}" y1="${Y(r.min)}" x2="${x}" y2="${Y(r.max)}" stroke="${o.color}"/>`,
      `<rect x="${x - bw / 2}" y="${Y(r.q75)}" width="${bw}" height="${Math.max(1, Y(r.q25) - Y(r.q75))}" fill="${o.color}" fill-opacity="0.35" stroke="${o.color}"/>`,
      `<line x1="${x - bw / 2}" y1="${Y(r.median)}" x2="${x + bw / 2}" y2="${Y(r.median)}" stroke="${o.color}" stroke-width="2"/>`,
    );
  }
  if (finite.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" class="tick" text-anchor="middle">no scores yet</text>`);
  }
  parts.push("</svg>");
  return parts.join("");
}

/** Histogram of `values`, stacked by class (`classColors[c]`, `classNames[c]`). */
export function histogramChart(
  values: readonly number[],
  classes: readonly number[],
  o: ChartOptions & {
    readonly classColors: readonly string[];
    readonly classNames: readonly string[];
    readonly bins?: number;
  },
): string {
  const W = o.width ?? 500;
  const H = o.height ?? 220;
  const m = { l: 44, r: 10, t: 24, b: 34 };
  const idx = values.map((_, i) => i).filter((i) => Number.isFinite(values[i]!));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<text x="${m.l}" y="15" class="title">${escapeHtml(o.title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" class="axis"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" class="axis"/>`,
    `<text x="${(W + m.l) / 2}" y="${H - 4}" class="tick" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`,
  ];
  if (idx.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" class="tick" text-anchor="middle">no scores</text></svg>`);
    return parts.join("");
  }
  const lo = Math.min(...idx.map((i) => values[i]!));
  const hi = Math.max(...idx.map((i) => values[i]!));
  const nb = o.bins ?? 16;
  const width = hi > lo ? (hi - lo) / nb : 1;
  const counts = Array.from({ length: nb }, () => new Array<number>(o.classNames.length).fill(0));
  for (const i of idx) {
    const b = Math.min(nb - 1, Math.floor((values[i]! - lo) / width));
    const c = Math.min(o.classNames.length - 1, Math.max(0, classes[i] ?? 0));
    counts[b]![c]! += 1;
  }
  const top = Math.max(1, ...counts.map((c) => c.reduce((a, b) => a + b, 0)));
  const bw = (W - m.l - m.r) / nb;
  const Y = (n: number) => H - m.b - (n / top) * (H - m.t - m.b);
  counts.forEach((c, b) => {
    let acc = 0;
    c.forEach((n, k) => {
      if (n === 0) return;
      parts.push(
        `<rect x="${m.l + b * bw + 1}" y="${Y(acc + n)}" width="${bw - 2}" height="${Y(acc) - Y(acc + n)}" fill="${o.classColors[k]}"/>`,
      );
      acc += n;
    });
  });
  parts.push(
    `<text x="${m.l - 4}" y="${Y(top) + 4}" class="tick" text-anchor="end">${top}</text>`,
    `<text x="${m.l - 4}" y="${Y(0) + 4}" class="tick" text-anchor="end">0</text>`,
    `<text x="${m.l}" y="${H - m.b + 14}" class="tick">${fmt(lo)}</text>`,
    `<text x="${W - m.r}" y="${H - m.b + 14}" class="tick" text-anchor="end">${fmt(hi)}</text>`,
  );
  o.classNames.forEach((name, k) => {
    parts.push(
      `<rect x="${W - m.r - 90}" y="${m.t + 4 + 14 * k}" width="10" height="10" fill="${o.classColors[k]}"/>`,
      `<text x="${W - m.r - 76}" y="${m.t + 13 + 14 * k}" class="tick">${escapeHtml(name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}
