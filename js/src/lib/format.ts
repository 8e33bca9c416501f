/** Number formatting shared by tooltips, captions and legends. */

/** Four significant digits, no trailing zeros; "NaN", "∞" and "−∞" spelled out. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "\u221e";
  if (value === -Infinity) return "\u2212\u221e";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(3).replace(/\.?0+e/, "e");
  return String(Number(value.toPrecision(4)));
}
