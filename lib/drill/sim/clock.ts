/** Simulated time. Nothing moves unless someone advances it (every API call does, by `apiCallMs`). */
export class SimClock {
  private current: number;
  constructor(readonly startMs: number = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.current = startMs;
  }
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`SimClock cannot go backwards (advance(${ms}))`);
    this.current += ms;
  }
  elapsedSeconds(): number {
    return (this.current - this.startMs) / 1000;
  }
}
