/**
 * Number formats shared by the screen's components.
 */

/** Format a duration such as "42s", "3m 07s" or "2h 05m"; "?" when it is unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '?';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** Accuracies and other shares in [0, 1] with three decimals, as the plain reporter prints them. */
export function formatShare(value: number): string {
  return value.toFixed(3);
}

export function formatLoss(value: number): string {
  return value.toFixed(4);
}

/** Throughput with one decimal below 100 samples per second and none above. */
export function formatRate(samplesPerSecond: number | null): string {
  if (samplesPerSecond === null || !Number.isFinite(samplesPerSecond)) return '? samples/s';
  return `${samplesPerSecond.toFixed(samplesPerSecond < 100 ? 1 : 0)} samples/s`;
}

/** Parameter counts in millions, e.g. "0.09M". */
export function formatMillions(count: number): string {
  return `${(count / 1e6).toFixed(2)}M`;
}

/** Draw a bar of `width` cells with the first `fraction` of them filled. */
export function progressBar(fraction: number, width: number): string {
  const clamped = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(clamped * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}
