import { ago } from "../format";
import { agoNextChangeIn, useNow } from "../state/clock";

/** "12 s ago", "3 min ago": plain text that keeps itself current and re-renders nothing else. */
export function Ago({ ms }: { ms: number }) {
  const now = useNow((n) => agoNextChangeIn(ms, n));
  return ago(ms, now);
}
