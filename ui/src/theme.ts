/** A custom property of the stylesheet, for what cannot read var() itself (uPlot's canvas). */
export function cssVar(name: string): string {
  // Six hex digits, like the palette: a chart appends two more for its fill's alpha.
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888888";
}
