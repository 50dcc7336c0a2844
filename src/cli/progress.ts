// A progress line for long runs (backfills, baseline captures): drawn on stderr when stderr is a terminal, redrawn
// in place at most every 250 ms, cleared before any log line, and left as a final line when the run ends. When
// stderr is not a terminal (a pipe, a file, a container's log collector reading JSON lines) nothing is drawn.

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** false turns the line off even on a terminal (`--no-progress`). Default true. */
  enabled?: boolean;
  /** Least time between two redraws. Default 250 ms. */
  intervalMs?: number;
  /** Milliseconds clock, for rates and ETA. Default Date.now. */
  now?: () => number;
}

/** What a run has done so far; `render` turns it into words. */
export interface ProgressState {
  /** Units of work done and in all (files, scopes): the ETA comes from these. */
  done: number;
  total?: number;
  /** Items counted for the rate (records, resources). */
  items: number;
}

const CLEAR = '\r\x1b[K';
const active = new Set<ProgressLine>();

/** Called by the logger before it writes a line to stderr: the progress line makes room and is redrawn later. */
export function beforeLogLine(): void {
  for (const line of active) line.clear();
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '0';
  return perSecond >= 100 ? String(Math.round(perSecond)) : perSecond.toFixed(1);
}

/** Rate (items per second since the start) and ETA (from the share of units done) of a state. */
export function measure(state: ProgressState, elapsedMs: number): { rate: number; eta: string } {
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = state.items / seconds;
  const eta =
    state.total !== undefined && state.done > 0 ? formatEta((seconds * (state.total - state.done)) / state.done) : '--:--';
  return { rate, eta };
}

export class ProgressLine {
  private readonly stream: ProgressStream;
  private readonly on: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private timer: NodeJS.Timeout | undefined;
  private shown = '';
  private drawnAt = 0;

  constructor(
    private readonly render: (elapsedMs: number) => string,
    opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.on = opts.enabled !== false && this.stream.isTTY === true;
    this.intervalMs = opts.intervalMs ?? 250;
    this.now = opts.now ?? Date.now;
    this.started = this.now();
  }

  /** Whether anything is drawn at all. */
  get enabled(): boolean {
    return this.on;
  }

  /** Starts redrawing on a timer (which never keeps the process alive). */
  start(): this {
    if (!this.on) return this;
    active.add(this);
    this.timer = setInterval(() => this.update(), this.intervalMs);
    this.timer.unref();
    this.update(true);
    return this;
  }

  /** Redraws now if the line changed and the last redraw is at least intervalMs old (or `force`). */
  update(force = false): void {
    if (!this.on) return;
    const at = this.now();
    if (!force && at - this.drawnAt < this.intervalMs) return;
    const text = this.fit(this.render(at - this.started));
    if (text === this.shown) return;
    this.stream.write(`${CLEAR}${text}`);
    this.shown = text;
    this.drawnAt = at;
  }

  /** Clears the line (before someone else writes to the stream); the next update draws it again. */
  clear(): void {
    if (!this.on || this.shown === '') return;
    this.stream.write(CLEAR);
    this.shown = '';
  }

  /** Draws the final state and ends the line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    active.delete(this);
    if (!this.on) return;
    this.shown = '';
    this.update(true);
    this.stream.write('\n');
  }

  private fit(text: string): string {
    const width = this.stream.columns;
    return width && text.length >= width ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
  }
}
