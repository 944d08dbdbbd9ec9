/** Latency figures in milliseconds, rounded to 2 decimals. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Nearest-rank percentile of ascending `sorted` values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

/** Sorts the samples in place and summarizes them. */
export function summarizeLatencies(samples: Float64Array): LatencySummary {
  samples.sort();
  let sum = 0;
  for (const value of samples) sum += value;
  return {
    count: samples.length,
    mean: round2(samples.length === 0 ? Number.NaN : sum / samples.length),
    p50: round2(percentile(samples, 50)),
    p90: round2(percentile(samples, 90)),
    p99: round2(percentile(samples, 99)),
    p999: round2(percentile(samples, 99.9)),
    max: round2(percentile(samples, 100)),
  };
}

/** The median; with two values, their mean. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}

/** A growable array of latency samples that avoids boxing millions of numbers. */
export class SampleBuffer {
  private values = new Float64Array(16_384);
  private length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = value;
  }

  /** The samples recorded so far, as a copy the caller may sort. */
  toArray(): Float64Array {
    return this.values.slice(0, this.length);
  }
}
