const MB = 1024 * 1024;

/** Bytes as whole mebibytes ("466 MB"); one decimal below 10. */
export function formatMb(bytes: number): string {
  const mb = bytes / MB;
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

/** A share (0..1) as whole percent ("91 %"). */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 100)} %`;
}

/** A growth rate in bytes per second as signed MB per minute ("+12.3 MB/min"). */
export function formatTrend(bytesPerSec: number): string {
  const perMin = (bytesPerSec * 60) / MB;
  const shown = Math.abs(perMin) < 0.05 ? "0.0" : `${perMin > 0 ? "+" : "-"}${Math.abs(perMin).toFixed(1)}`;
  return `${shown} MB/min`;
}

/** Seconds as a short human duration: "42 s", "7 min", "2.5 h", "3 d". */
export function formatSeconds(sec: number): string {
  if (sec < 90) return `${Math.round(sec)} s`;
  if (sec < 90 * 60) return `${Math.round(sec / 60)} min`;
  if (sec < 48 * 3600) return `${Math.round((sec / 3600) * 10) / 10} h`;
  return `${Math.round(sec / 86_400)} d`;
}
