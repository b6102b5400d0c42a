// The live chart (uPlot): triples in the store, changes received by sync, and round latency,
// one point per `metrics` event (every 2 s). Only measured values are drawn; a missing one is a gap.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { formatCount, formatMs } from './format';

/** Points kept: 10 minutes at one per 2 s. */
export const MAX_POINTS = 300;

/** The shortest time span shown, seconds. */
const WINDOW_S = 120;

/** Axis steps of whole numbers (counts and milliseconds). */
const INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9];

/** Unix seconds as local HH:MM:SS. */
function clock(t: number): string {
  const d = new Date(t * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** One measurement. */
export interface Sample {
  /** Unix seconds. */
  t: number;
  triples: number | null;
  synced: number | null;
  latencyMs: number | null;
}

/** The series buffer, oldest first, at most `MAX_POINTS`. */
export class Series {
  readonly t: number[] = [];
  readonly triples: (number | null)[] = [];
  readonly synced: (number | null)[] = [];
  readonly latency: (number | null)[] = [];

  push(s: Sample): void {
    this.t.push(s.t);
    this.triples.push(s.triples);
    this.synced.push(s.synced);
    this.latency.push(s.latencyMs);
    if (this.t.length > MAX_POINTS) {
      this.t.shift();
      this.triples.shift();
      this.synced.shift();
      this.latency.shift();
    }
  }

  get length(): number {
    return this.t.length;
  }

  data(): uPlot.AlignedData {
    return [this.t, this.triples, this.synced, this.latency];
  }
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** A chart bound to a container; follows its width and the colour scheme. */
export class LiveChart {
  private plot: uPlot | null = null;
  private readonly series = new Series();
  private readonly height: number;

  constructor(
    private readonly el: HTMLElement,
    height = 220,
  ) {
    this.height = height;
    new ResizeObserver(() => this.resize()).observe(el);
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.rebuild());
    // A hidden window (the app in the tray) keeps collecting points but draws nothing.
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.redraw();
    });
  }

  /** Adds a measurement and redraws (only while the page is visible). */
  push(s: Sample): void {
    this.series.push(s);
    if (!document.hidden) this.redraw();
  }

  private redraw(): void {
    if (!this.plot) this.rebuild();
    else {
      this.plot.setData(this.series.data());
      this.showLatest();
    }
  }

  /** How many points are drawn. */
  get points(): number {
    return this.series.length;
  }

  private width(): number {
    return Math.max(240, Math.floor(this.el.clientWidth));
  }

  private resize(): void {
    this.plot?.setSize({ width: this.width(), height: this.height });
  }

  private rebuild(): void {
    this.plot?.destroy();
    this.plot = null;
    if (this.series.length === 0) return;
    const text = cssVar('--muted', '#666');
    const grid = cssVar('--grid', 'rgba(128,128,128,.15)');
    const axis = (scale: string, side: 1 | 3, fmt: (v: number) => string): uPlot.Axis => ({
      scale,
      side,
      incrs: INTEGER_STEPS,
      stroke: text,
      grid: { stroke: grid, width: 1, show: side === 3 },
      ticks: { stroke: grid, width: 1 },
      values: (_u, vals) => vals.map((v) => (v === null ? '' : fmt(v))),
      size: 64,
      font: '11px system-ui, sans-serif',
    });
    const opts: uPlot.Options = {
      width: this.width(),
      height: this.height,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true, live: true },
      scales: {
        // At least the last two minutes, so a young series is not stretched over seconds.
        x: { time: true, range: (_u, min, max) => [Math.min(min, max - WINDOW_S), max] },
        n: { auto: true, range: (_u, min, max) => [Math.min(0, min), Math.max(4, Math.ceil(max * 1.1))] },
        ms: { auto: true, range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
      },
      axes: [
        {
          stroke: text,
          grid: { show: false },
          ticks: { stroke: grid },
          font: '11px system-ui, sans-serif',
          space: 70,
          values: (_u, vals) => vals.map(clock),
        },
        axis('n', 3, (v) => formatCount(v)),
        axis('ms', 1, (v) => formatMs(v)),
      ],
      series: [
        { label: 'Time', value: (_u, v) => (v === null ? '—' : clock(v)) },
        { label: 'Triples', scale: 'n', stroke: cssVar('--c1', '#2f6fdf'), width: 2, value: (_u, v) => formatCount(v) },
        { label: 'Changes received', scale: 'n', stroke: cssVar('--c2', '#1f9d6b'), width: 2, value: (_u, v) => formatCount(v) },
        { label: 'Round latency', scale: 'ms', stroke: cssVar('--c3', '#d9822b'), width: 1.5, dash: [4, 3], value: (_u, v) => formatMs(v) },
      ],
    };
    this.plot = new uPlot(opts, this.series.data(), this.el);
    // uPlot resets the legend once it is laid out; show the latest values after that.
    requestAnimationFrame(() => this.showLatest());
  }

  /** The legend shows the latest values while the pointer is not over the chart. */
  private showLatest(): void {
    const p = this.plot;
    if (p && (p.cursor.left ?? -1) < 0) p.setLegend({ idx: this.series.length - 1 });
  }
}
